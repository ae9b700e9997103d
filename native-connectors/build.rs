//! Builds the `components/` workspace for wasm32-wasip2 so that the built-in components are
//! embedded in the binary and a fresh clone needs nothing more than the README's commands.
//!
//! The nested build gets its own target directory (beside the outer one, so it is reused
//! across profiles and runs) and a clean environment: the outer build's flags and wrappers
//! (clippy's among them) are for the host, not the guest.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const COMPONENTS: &[&str] = &[
    "hygge_parquet_component",
    "hygge_rest_component",
    "hygge_evil_component",
    "hygge_evil_net_component",
    "hygge_evil_http_component",
];

fn main() {
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("native-connectors lives in the repository")
        .to_path_buf();
    let components = root.join("components");
    for watched in [
        "Cargo.toml",
        "Cargo.lock",
        "ipc",
        "sdk",
        "parquet",
        "rest",
        "rest-config",
        "evil",
        "evil-net",
        "evil-http",
        "zstd-pure",
        ".cargo",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            components.join(watched).display()
        );
    }
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out.
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .map(|t| t.join("hygge-components"))
        .unwrap_or_else(|| out_dir.join("components-target"));
    ensure_wasm_target();
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    // From inside components/, so that its .cargo/config.toml (the guest's rustflags) applies.
    command
        .current_dir(&components)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(components.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for variable in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(variable);
    }
    let output = command.output().expect("cargo runs");
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("wasm32-wasip2")
            && (stderr.contains("target may not be installed")
                || stderr.contains("can't find crate for `core`")
                || stderr.contains("can't find crate for `std`"))
        {
            panic!(
                "the wasm32-wasip2 target is missing: run `rustup target add wasm32-wasip2`\n{stderr}"
            );
        }
        panic!("building the Wasm components failed:\n{stderr}");
    }
    let built = target_dir.join("wasm32-wasip2/release");
    for name in COMPONENTS {
        let from = built.join(format!("{name}.wasm"));
        let to = out_dir.join(format!("{name}.wasm"));
        copy(&from, &to);
    }
    // Tests load the hostile components from disk; they are never embedded.
    println!(
        "cargo:rustc-env=HYGGE_EVIL_COMPONENT={}",
        out_dir.join("hygge_evil_component.wasm").display()
    );
    println!(
        "cargo:rustc-env=HYGGE_EVIL_NET_COMPONENT={}",
        out_dir.join("hygge_evil_net_component.wasm").display()
    );
    println!(
        "cargo:rustc-env=HYGGE_EVIL_HTTP_COMPONENT={}",
        out_dir.join("hygge_evil_http_component.wasm").display()
    );
}

/// Installs the wasm32-wasip2 target through rustup when the toolchain lacks it, so that the
/// README's commands work on a fresh machine where rustup does not install the targets of
/// rust-toolchain.toml by itself (`RUSTUP_AUTO_INSTALL=0`).
fn ensure_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = |sysroot: &Path| sysroot.join("lib/rustlib/wasm32-wasip2/lib").is_dir();
    if sysroot.as_deref().is_some_and(installed) {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", "wasm32-wasip2"]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    println!(
        "cargo:warning=installing the wasm32-wasip2 target with `rustup target add wasm32-wasip2`"
    );
    match rustup.output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "the wasm32-wasip2 target is missing and `rustup target add wasm32-wasip2` failed:\n{}\nrun that command yourself, then build again",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "the wasm32-wasip2 target is missing and rustup cannot be run ({e}): install the target for this toolchain, then build again"
        ),
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
}
