//! HTTP test doubles of cloud APIs that have no emulator (GKE, GCP IAM,
//! Azure Resource Manager): each answers the official API description in
//! `../shared/specs/` — refusing an unknown field, a wrong type or a missing
//! required one — and keeps the operation semantics a client relies on
//! (GKE Operation objects, ARM's Azure-AsyncOperation polling, one
//! operation at a time per cluster). They come with the providers that
//! need them; this module is where they live.
