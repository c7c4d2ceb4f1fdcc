//! The `tower-webhook` command, run as a user runs it: sign → verify for
//! every preset, `send` against `listen`, and `verify` of a captured
//! request that fails saying why.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tower_webhook::scheme::PRESETS;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const CAPTURED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/captured/standard-webhooks.http"
);

/// The command, with none of the `WEBHOOK_*` settings it reads from the
/// environment.
fn cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tower-webhook"));
    for var in [
        "WEBHOOK_SCHEME",
        "WEBHOOK_SECRET",
        "WEBHOOK_PUBLIC_URL",
        "WEBHOOK_VERIFY_TOKEN",
        "WEBHOOK_BIND",
        "WEBHOOK_REDIS_URL",
        "WEBHOOK_DATABASE_URL",
    ] {
        c.env_remove(var);
    }
    c
}

fn run(args: &[&str]) -> Output {
    cmd().args(args).output().expect("the command runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `args`, which must be refused as a usage error (exit code 2), and
/// gives what it wrote to stderr.
fn refused(args: &[&str]) -> String {
    let out = run(args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    err
}

/// The key a preset signs with, and the one its receiver verifies with
/// (the asymmetric presets: a secret key to sign, the public key to
/// verify).
fn keys(preset: &str) -> (String, String) {
    match preset {
        #[cfg(feature = "ed25519")]
        "standard-ed25519" => {
            let secret = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
            let public = tower_webhook::scheme::StandardWebhooksEd25519::new(secret)
                .expect("the test key")
                .public_keys()
                .remove(0);
            (secret.to_owned(), public)
        }
        #[cfg(feature = "sendgrid")]
        "sendgrid" => {
            let private = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";
            let public = tower_webhook::scheme::SendGrid::from_private_key(private)
                .expect("the test key")
                .public_keys()
                .remove(0);
            (private.to_owned(), public)
        }
        // RFC 8032 TEST 1: the seed followed by its public key, and the
        // public key.
        "discord" => {
            let public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
            (
                format!("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60{public}"),
                public.to_owned(),
            )
        }
        // Salesforce signs nothing: the allowed OrganizationId.
        "salesforce" => (
            "00D5e000000KQ2eEAG".to_owned(),
            "00D5e000000KQ2eEAG".to_owned(),
        ),
        _ => (SECRET.to_owned(), SECRET.to_owned()),
    }
}

/// A body every JSON sender accepts: the event id where each body-id
/// sender reads it, and Linear's signed millisecond timestamp.
fn body(preset: &str) -> String {
    if preset == "salesforce" {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/salesforce/outbound_message.xml"
        );
        return std::fs::read_to_string(path).expect("the Salesforce fixture");
    }
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    let id = format!("evt_{preset}");
    format!(
        r#"{{"id":"{id}","event_id":"{id}","notification_id":"{id}","notificationId":"{id}","event":{{"id":"{id}"}},"type":"x","webhookTimestamp":{ms}}}"#
    )
}

#[test]
fn every_preset_signs_and_verifies() {
    let dir = std::env::temp_dir().join(format!("tower-webhook-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let body_file = dir.join("body");
    let mut checked = Vec::new();
    for preset in PRESETS {
        if ["sns", "paypal", "ebay"].contains(preset) {
            // Signed with the sender's own private key, verified with a key
            // fetched from the sender: `sign` cannot, and says so (below);
            // verification with fetched keys is covered over TCP against a
            // loopback key server in tests/{sns,paypal,ebay}.rs.
            let secret = if *preset == "ebay" {
                "client-id:client-secret"
            } else {
                "x"
            };
            let refused = run(&["sign", "--scheme", preset, "--secret", secret, "{}"]);
            assert!(!refused.status.success(), "{preset}");
            assert!(
                text(&refused.stderr).contains("cannot sign"),
                "{preset}: {}",
                text(&refused.stderr)
            );
            continue;
        }
        let (signing, verifying) = keys(preset);
        std::fs::write(&body_file, body(preset)).expect("the body file");
        let body_arg = format!("@{}", body_file.display());
        // Only `sign` and `verify`: the headers, then the whole request.
        let headers = run(&["sign", "--scheme", preset, "--secret", &signing, &body_arg]);
        assert!(
            headers.status.success(),
            "{preset}: sign: {}",
            text(&headers.stderr)
        );
        assert!(!text(&headers.stdout).is_empty(), "{preset}: no headers");
        let signed = run(&[
            "sign", "--http", "--scheme", preset, "--secret", &signing, &body_arg,
        ]);
        assert!(
            signed.status.success(),
            "{preset}: sign --http: {}",
            text(&signed.stderr)
        );
        let request = dir.join(format!("{preset}.http"));
        std::fs::write(&request, &signed.stdout).expect("the request file");
        let request = request.display().to_string();
        for key in [&verifying, &signing] {
            let verified = run(&["verify", "--scheme", preset, "--secret", key, &request]);
            let out = text(&verified.stdout);
            assert_eq!(
                verified.status.code(),
                Some(0),
                "{preset}: {out}{}",
                text(&verified.stderr)
            );
            assert!(
                out.starts_with(&format!("verified: a `{preset}` delivery")),
                "{out}"
            );
        }
        // Another key: refused, and said why. (Salesforce's "key" is the
        // org allow-list.)
        let other = match *preset {
            "discord" => "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "salesforce" => "00D000000000001EAA",
            // RFC 8032 TEST 2's public key.
            "standard-ed25519" => "whpk_PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=",
            "sendgrid" => {
                "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
            }
            _ => "whsec_ZGV2ZWxvcG1lbnQtc2VjcmV0LWRvLW5vdC11c2U=",
        };
        let refused = run(&["verify", "--scheme", preset, "--secret", other, &request]);
        let out = text(&refused.stdout);
        assert_eq!(refused.status.code(), Some(1), "{preset}: {out}");
        assert!(out.starts_with("not verified: "), "{preset}: {out}");
        assert!(
            !out.contains(other) && !out.contains(&signing),
            "{preset}: {out}"
        );
        checked.push(*preset);
    }
    let _ = std::fs::remove_dir_all(&dir);
    // Presets behind features are in PRESETS only when enabled: the others
    // cannot be built by this binary, which `sign` says (see below).
    eprintln!(
        "sign -> verify checked for {} presets: {}",
        checked.len(),
        checked.join(", ")
    );
    assert!(checked.len() >= 21);
}

#[test]
fn a_preset_without_its_feature_names_it() {
    for (preset, feature) in [
        ("standard-ed25519", "ed25519"),
        ("sendgrid", "sendgrid"),
        ("discord", "discord"),
        ("salesforce", "salesforce"),
    ] {
        if PRESETS.contains(&preset) {
            continue;
        }
        let err = refused(&["sign", "--scheme", preset, "--secret", "k", "{}"]);
        assert!(err.contains(&format!("--features cli,{feature}")), "{err}");
    }
}

#[test]
fn sign_errors_say_what_to_fix() {
    let err = refused(&["sign", "--scheme", "strpe", "--secret", SECRET, "{}"]);
    assert!(err.contains("known schemes: standard, stripe"));

    // Stripe carries its id in the body: the signer's refusal, surfaced.
    let err = refused(&[
        "sign",
        "--scheme",
        "stripe",
        "--secret",
        SECRET,
        "--id",
        "evt_2",
        r#"{"id":"evt_1"}"#,
    ]);
    assert!(
        err.contains("does not carry the event id") && err.contains("--id"),
        "{err}"
    );

    let err = refused(&[
        "sign",
        "--scheme",
        "stripe",
        "--secret",
        SECRET,
        "@/nonexistent/body.json",
    ]);
    assert!(err.contains("\"/nonexistent/body.json\""));

    let err = refused(&[
        "listen",
        "--scheme",
        "meta",
        "--secret",
        SECRET,
        "--bind",
        "127.0.0.1:0",
    ]);
    assert!(err.contains("--verify-token"));
}

#[test]
fn a_captured_request_that_fails_says_why() {
    // The specification's vector, captured: it verifies at its own time...
    let out = run(&[
        "verify",
        "--scheme",
        "standard",
        "--secret",
        SECRET,
        "--at",
        "1614265330",
        CAPTURED,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains(r#"event id "msg_p5jXN8AQM9LWM0D4loKWxJek" (signed)"#));

    // ... but not now: which header, which check, and what to do.
    let out = run(&[
        "verify", "--scheme", "standard", "--secret", SECRET, CAPTURED,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    assert!(
        said.starts_with("not verified: `webhook-timestamp` timestamp is ")
            && said.contains("s old, more than the 300 s tolerance")
            && said.contains("--at"),
        "{said}"
    );

    // Another secret: the signature header, and never the secret.
    let wrong = "whsec_ZGV2ZWxvcG1lbnQtc2VjcmV0LWRvLW5vdC11c2U=";
    let out = run(&[
        "verify",
        "--scheme",
        "standard",
        "--secret",
        wrong,
        "--at",
        "1614265330",
        CAPTURED,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(
        said.contains("no signature in `webhook-signature` matches"),
        "{said}"
    );
    assert!(
        !said.contains(wrong) && !said.contains("MfKQ9r8G"),
        "{said}"
    );

    // From stdin, a changed body and a missing header.
    let captured = std::fs::read_to_string(CAPTURED).expect("the capture");
    let stdin = |input: String| {
        let mut child = cmd()
            .args([
                "verify",
                "--scheme",
                "standard",
                "--secret",
                SECRET,
                "--at",
                "1614265330",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the command runs");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), input.as_bytes())
            .expect("the request written");
        child.wait_with_output().expect("the command ends")
    };
    let out = stdin(captured.replace("2432232314", "2432232315"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("no signature in `webhook-signature` matches"));
    let out = stdin(captured.replace("webhook-signature", "x-signature"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout).trim(),
        "not verified: missing `webhook-signature` header"
    );
    // Not a request at all: exit 2, and what is expected.
    let out = stdin("hello".to_owned());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("request line and headers"),
        "{}",
        text(&out.stderr)
    );
}

/// `listen` on a free port, killed on drop; its address from its log.
struct Listener {
    child: Child,
    url: String,
}

impl Listener {
    fn start(scheme: &str, secret: &str) -> Self {
        let mut child = cmd()
            .args([
                "listen",
                "--bind",
                "127.0.0.1:0",
                "--scheme",
                scheme,
                "--secret",
                secret,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("listen starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = String::new();
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("listen did not start: {seen}")
            });
            // Plain text: stderr is a pipe, not a terminal.
            assert!(
                !line.contains('\u{1b}'),
                "colour codes in a piped log: {line:?}"
            );
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("receiving webhooks") {
                let addr = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("addr="))
                    .expect("the address in the log")
                    .to_owned();
                break addr;
            }
        };
        Self {
            child,
            url: format!("http://{addr}/webhook"),
        }
    }

    /// Stops the receiver and gives what it printed on stdout.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = stdout.read_to_string(&mut out);
        }
        let _ = self.child.wait();
        out
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn send_to_listen_repeats_are_answered_200() {
    let listener = Listener::start("standard", SECRET);
    let body = r#"{"type":"invoice.paid"}"#;
    let out = run(&[
        "send",
        &listener.url,
        "--scheme",
        "standard",
        "--secret",
        SECRET,
        "--id",
        "msg_cli_1",
        body,
        "--repeat",
        "2",
    ]);
    let answers = text(&out.stdout);
    assert!(out.status.success(), "{answers}{}", text(&out.stderr));
    // Each answer's status, and its body indented below it.
    assert_eq!(
        answers,
        "#1 204 No Content\n#2 200 OK\n    already processed\n"
    );
    assert!(
        text(&out.stderr).contains("1 x 200 OK, 1 x 204 No Content"),
        "{}",
        text(&out.stderr)
    );

    // Copies in flight at once: one is handled, the others are answered
    // 409 (being processed) or 200 (done).
    let out = run(&[
        "send",
        &listener.url,
        "--scheme",
        "standard",
        "--secret",
        SECRET,
        "--id",
        "msg_cli_2",
        body,
        "--repeat",
        "4",
        "--concurrency",
        "4",
    ]);
    let answers = text(&out.stdout);
    assert!(out.status.success(), "{answers}");
    let statuses: Vec<&str> = answers
        .lines()
        .filter(|l| l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .map(|(_, s)| s)
        .collect();
    assert_eq!(statuses.len(), 4, "{answers}");
    assert_eq!(
        statuses.iter().filter(|s| **s == "204 No Content").count(),
        1,
        "{answers}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| ["204 No Content", "200 OK", "409 Conflict"].contains(s)),
        "{answers}"
    );

    // Another secret: refused, and the answer printed.
    let out = run(&[
        "send",
        &listener.url,
        "--scheme",
        "standard",
        "--secret",
        "whsec_ZGV2ZWxvcG1lbnQtc2VjcmV0LWRvLW5vdC11c2U=",
        body,
    ]);
    assert!(
        text(&out.stdout).starts_with("401 Unauthorized"),
        "{}",
        text(&out.stdout)
    );

    let printed = listener.stop();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "one line per handled event: {printed}");
    assert!(lines[0].contains(r#""id":"msg_cli_1""#), "{printed}");
}

#[test]
fn send_without_a_receiver_says_so() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/webhook");
    let out = run(&[
        "send", &url, "--scheme", "standard", "--secret", SECRET, "{}",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    assert!(said.contains("no answer") && said.contains(&url), "{said}");

    let err = refused(&[
        "send",
        "https://example.com/hook",
        "--scheme",
        "standard",
        "--secret",
        SECRET,
        "{}",
    ]);
    assert!(err.contains("sign --http"), "{err}");
}
