//! `RedisStore` on a real Redis Cluster (feature `redis-cluster`).
//!
//! Starts its own three-node cluster (`redis-server` and `redis-cli` from
//! `PATH`, or `REDIS_SERVER` / `REDIS_CLI`) on free loopback ports, and
//! fails, rather than skips, when it cannot.
#![cfg(feature = "redis-cluster")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tower_webhook::dedup::{Claim, DedupStore, RedisStore, Reservation, Token};

const LEASE: Duration = Duration::from_secs(30);
const KEEP: Duration = Duration::from_secs(120);

/// A free port whose cluster bus port (+10000) is free too.
fn free_cluster_port(taken: &[u16]) -> u16 {
    for _ in 0..1000 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if port < 55_000
            && !taken.contains(&port)
            && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok()
        {
            return port;
        }
    }
    panic!("no free port pair for a cluster node");
}

/// Three cluster-enabled `redis-server`s, joined; killed on drop.
struct Cluster {
    ports: Vec<u16>,
    children: Vec<Child>,
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Cluster {
    async fn start() -> Self {
        let server = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let cli = std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".to_owned());
        let dir = std::env::temp_dir().join(format!(
            "tower-webhook-cluster-{}-{:016x}",
            std::process::id(),
            Token::generate().as_u64()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cluster = Self {
            ports: Vec::new(),
            children: Vec::new(),
            dir,
        };
        for _ in 0..3 {
            let port = free_cluster_port(&cluster.ports);
            let child = Command::new(&server)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes"])
                .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
                .args(["--cluster-node-timeout", "2000"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&cluster.dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {server} (install redis-server or set REDIS_SERVER): {e}")
                });
            cluster.ports.push(port);
            cluster.children.push(child);
        }
        for port in cluster.ports.clone() {
            cluster.wait_for(port, "PONG", &["PING"]).await;
        }
        let nodes: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let created = Command::new(&cli)
            .args(["--cluster", "create"])
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run {cli} (install redis-tools or set REDIS_CLI): {e}")
            });
        assert!(created.success(), "redis-cli --cluster create failed");
        for port in cluster.ports.clone() {
            cluster
                .wait_for(port, "cluster_state:ok", &["CLUSTER", "INFO"])
                .await;
        }
        cluster
    }

    /// Waits until `cmd` on the node at `port` answers something containing `want`.
    async fn wait_for(&self, port: u16, want: &str, cmd: &[&str]) {
        let started = Instant::now();
        for _ in 0..500 {
            let answer = async {
                let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
                let mut c = client.get_multiplexed_async_connection().await?;
                let mut command = redis::cmd(cmd[0]);
                for a in &cmd[1..] {
                    command.arg(*a);
                }
                command.query_async::<String>(&mut c).await
            };
            if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_millis(500), answer).await
                && s.contains(want)
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "node {port}: no {want:?} after 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("node {port}: gave up waiting for {want:?}");
    }

    fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }
}

fn claim() -> Claim {
    Claim::new(LEASE, KEEP)
}

/// Reserves `key`, which must answer Fresh; returns the token.
async fn take(s: &RedisStore, key: &str) -> Token {
    let c = claim();
    match s.reserve(key, c).await {
        Ok(Reservation::Fresh) => c.token,
        other => panic!("{key}: expected Fresh, got {other:?}"),
    }
}

async fn store(cluster: &Cluster, prefix: &str) -> RedisStore {
    RedisStore::builder()
        .prefix(prefix)
        .timeout(Duration::from_secs(2))
        .connect_cluster(cluster.urls())
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test cluster: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_holds_on_every_node_of_a_cluster() {
    let cluster = Cluster::start().await;
    let prefix = format!("tower-webhook-test:{:016x}:", Token::generate().as_u64());
    let s = store(&cluster, &prefix).await;
    let other = store(&cluster, &prefix).await;
    let client = redis::cluster::ClusterClient::new(cluster.urls()).unwrap();
    let mut raw = client.get_async_connection().await.unwrap();

    // Enough ids to land on every node's slots.
    for i in 0..60 {
        // Any string is a key to the store; this one looks like the
        // layer's (`{scheme}:n{len}:{namespace}:id:{event id}`).
        let id = format!("standard:n9:test-hook:id:evt_{i}");
        let t = take(&s, &id).await;
        assert!(matches!(
            other.reserve(&id, claim()).await,
            Ok(Reservation::InFlight { .. })
        ));
        let pttl: i64 = redis::cmd("PTTL")
            .arg(format!("{prefix}{id}"))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert!(pttl > 0 && pttl <= 30_000, "{id}: lease TTL {pttl}");
        if i % 2 == 0 {
            assert_eq!(
                other.commit(&id, Token::generate(), KEEP).await,
                Ok(false),
                "foreign token"
            );
            assert_eq!(s.commit(&id, t, KEEP).await, Ok(true));
            assert_eq!(other.reserve(&id, claim()).await, Ok(Reservation::Done));
            let pttl: i64 = redis::cmd("PTTL")
                .arg(format!("{prefix}{id}"))
                .query_async(&mut raw)
                .await
                .unwrap();
            assert!(
                pttl > 30_000 && pttl <= 120_000,
                "{id}: retention TTL {pttl}"
            );
            // A later copy asking a longer retention pushes the expiry out.
            let later = Claim::new(LEASE, Duration::from_secs(600));
            assert_eq!(other.reserve(&id, later).await, Ok(Reservation::Done));
            let pttl: i64 = redis::cmd("PTTL")
                .arg(format!("{prefix}{id}"))
                .query_async(&mut raw)
                .await
                .unwrap();
            assert!(
                pttl > 120_000 && pttl <= 600_000,
                "{id}: extended TTL {pttl}"
            );
        } else {
            assert_eq!(
                other.release(&id, Token::generate()).await,
                Ok(false),
                "foreign token"
            );
            assert_eq!(s.release(&id, t).await, Ok(true));
            let retry = take(&other, &id).await;
            // Its lease runs out (the key is deleted, as expiry does) with
            // nobody taking over: the commit still records it.
            let deleted: i64 = redis::cmd("DEL")
                .arg(format!("{prefix}{id}"))
                .query_async(&mut raw)
                .await
                .unwrap();
            assert_eq!(deleted, 1);
            assert_eq!(other.commit(&id, retry, KEEP).await, Ok(true));
            assert_eq!(s.reserve(&id, claim()).await, Ok(Reservation::Done));
        }
    }

    // The ids did spread over the nodes.
    for port in &cluster.ports {
        let node = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
        let mut c = node.get_multiplexed_async_connection().await.unwrap();
        let keys: i64 = redis::cmd("DBSIZE").query_async(&mut c).await.unwrap();
        assert!(keys > 0, "node {port} holds no key");
    }

    // Concurrent reservations of one id from both stores: one winner.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = if i % 2 == 0 { s.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            let c = claim();
            (c.token, s.reserve("contended", c).await)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (token, Ok(Reservation::Fresh)) => winners.push(token),
            (_, Ok(Reservation::InFlight { .. })) => {}
            (_, other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(s.commit("contended", winners[0], KEEP).await, Ok(true));
}
