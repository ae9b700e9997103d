//! Cross-check with FreeTDS (Debian's `freetds-bin`): `tsql` creates, inserts
//! and reads rows; `freebcp` bulk-loads a character file.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{name}` is missing: install Debian's freetds-bin (apt-get install -y freetds-bin)")
    })
}

/// A scratch directory with a freetds.conf naming the server `hygge`.
fn scratch(port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hygge-freetds-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("freetds.conf"),
        format!(
            "[global]\n\ttds version = 7.4\n\tclient charset = UTF-8\n[hygge]\n\thost = 127.0.0.1\n\tport = {port}\n\ttds version = 7.4\n\tencryption = off\n"
        ),
    )
    .unwrap();
    dir
}

async fn run(program: &Path, args: &[&str], dir: &Path, stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("FREETDSCONF", dir.join("freetds.conf"))
        .env_remove("TDSDUMP")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{} timed out", program.display()))
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn tsql(dir: &Path, script: &str) -> String {
    let (ok, out, err) = run(
        &tool("tsql"),
        &["-S", "hygge", "-U", common::USER, "-P", common::PASSWORD],
        dir,
        script,
    )
    .await;
    assert!(ok, "tsql failed: {out}\n{err}");
    assert!(
        !out.contains("Msg "),
        "tsql reported an error: {out}\n{err}"
    );
    out
}

/// The tab-separated data lines tsql printed (prompts stripped).
fn data_lines(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| {
            let mut l = l;
            // Prompts like "1> 2> " precede the first line of output.
            while let Some(rest) = l
                .split_once("> ")
                .filter(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
            {
                l = rest.1;
            }
            l.to_string()
        })
        .filter(|l| l.contains('\t'))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tsql_and_freebcp_work_against_the_server() {
    // Both tools must exist before anything else happens.
    tool("tsql");
    let freebcp = tool("freebcp");
    let server = common::server().await;
    let dir = scratch(server.port());

    let out = tsql(
        &dir,
        "CREATE TABLE dbo.people (id INT NOT NULL, name NVARCHAR(40) NULL, amount DECIMAL(12,2) NULL, seen DATE NULL)\ngo\n\
         INSERT INTO dbo.people VALUES (1, N'Ada', 10.50, '2024-01-02'), (2, NULL, NULL, NULL), (3, N'Zoë', -1.25, '2023-12-31')\ngo\n\
         SELECT id, name, amount FROM dbo.people ORDER BY id\ngo\nexit\n",
    )
    .await;
    assert_eq!(
        data_lines(&out),
        vec![
            "id\tname\tamount",
            "1\tAda\t10.50",
            "2\tNULL\tNULL",
            "3\tZoë\t-1.25"
        ],
        "{out}"
    );

    // freebcp: a character file into a new table.
    tsql(
        &dir,
        "CREATE TABLE dbo.loaded (id INT NOT NULL, name NVARCHAR(40) NULL, amount DECIMAL(12,2), at DATETIME2(7), flag BIT)\ngo\nexit\n",
    )
    .await;
    let data = "1\tAda\t10.50\t2024-01-02 03:04:05.1234567\t1\n2\t\t\t\t\n3\tzoë\t-1.25\t2024-02-03 00:00:00\t0\n";
    std::fs::write(dir.join("data.txt"), data).unwrap();
    let (ok, out, err) = run(
        &freebcp,
        &[
            "dbo.loaded",
            "in",
            "data.txt",
            "-c",
            "-S",
            "hygge",
            "-U",
            common::USER,
            "-P",
            common::PASSWORD,
        ],
        &dir,
        "",
    )
    .await;
    assert!(
        ok && out.contains("3 rows copied."),
        "freebcp failed: {out}\n{err}"
    );
    assert!(
        !out.contains("Msg "),
        "freebcp reported an error: {out}\n{err}"
    );

    // Verify with tiberius.
    let mut client = common::connect(&server).await;
    let r = common::rows(
        &mut client,
        "SELECT id, name, CAST(amount AS VARCHAR(20)), CAST(at AS VARCHAR(30)), flag FROM dbo.loaded ORDER BY id",
    )
    .await;
    let got: Vec<String> = r
        .iter()
        .map(|row| {
            format!(
                "{:?} {:?} {:?} {:?} {:?}",
                row.get::<i32, _>(0),
                row.get::<&str, _>(1),
                row.get::<&str, _>(2),
                row.get::<&str, _>(3),
                row.get::<bool, _>(4)
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            "Some(1) Some(\"Ada\") Some(\"10.50\") Some(\"2024-01-02 03:04:05.1234567\") Some(true)",
            "Some(2) None None None None",
            "Some(3) Some(\"zoë\") Some(\"-1.25\") Some(\"2024-02-03 00:00:00.0000000\") Some(false)",
        ]
    );
    let executed = server.executed_sql();
    assert!(
        executed
            .iter()
            .any(|s| s.to_lowercase().starts_with("insert bulk dbo.loaded")),
        "{executed:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
