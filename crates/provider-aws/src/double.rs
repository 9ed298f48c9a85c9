//! A tiny HTTP double for the few answers moto cannot give (a second page
//! of ListBuckets, a bucket whose tags are denied, EKS updates that take
//! time, UpdateNodegroupVersion), so the provider's real SDK calls are
//! tested against them. Tests only.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request: method, path, query parameters and body.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub body: String,
}

/// An answer: status and body (XML, or JSON when it starts with `{`).
pub(crate) type Answer = (u16, String);

type Route = dyn Fn(&Request) -> Answer + Send + Sync;

/// Serves `route` on a loopback port until the test ends.
pub(crate) struct Double {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl Double {
    pub fn start(route: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Double {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (seen, route): (_, Arc<Route>) = (requests.clone(), Arc::new(route));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (seen, route) = (seen.clone(), route.clone());
                std::thread::spawn(move || serve(stream, &seen, route.as_ref()));
            }
        });
        Double { url, requests }
    }
}

impl Double {
    /// A provider whose every service is this double.
    pub async fn provider(&self) -> crate::AwsProvider {
        crate::AwsBuilder::new()
            .region("us-west-2")
            .endpoint_url(&self.url)
            .credentials(crate::StaticCredentials::new("test", "test"))
            .subnets(vec!["subnet-1".into(), "subnet-2".into()])
            .build()
            .await
            .expect("a provider")
    }
}

/// Answers requests on one connection until the client closes it.
fn serve(stream: TcpStream, seen: &Mutex<Vec<Request>>, route: &Route) {
    let mut reader = BufReader::new(stream.try_clone().expect("stream"));
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or_default().to_string(),
            parts.next().unwrap_or_default().to_string(),
        );
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        let request = Request {
            method,
            path: path.to_string(),
            query,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        let (status, answer) = route(&request);
        seen.lock().expect("requests").push(request.clone());
        let body = if request.method == "HEAD" {
            String::new()
        } else {
            answer
        };
        let kind = match body.starts_with('{') {
            true => "application/json",
            false => "application/xml",
        };
        let reply = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// S3's error document.
pub(crate) fn s3_error(status: u16, code: &str) -> Answer {
    (
        status,
        format!("<Error><Code>{code}</Code><Message>{code}</Message></Error>"),
    )
}
