//! hubforge
