//! Node `ws` and Python `websockets`: installed by the interop tests'
//! script, run from `benches/scale/`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::root;

/// What the peers run with, or why they cannot run (an `n/a (...)`
/// cell).
pub struct Peers {
    pub node: Result<PathBuf, String>,
    pub python: Result<PathBuf, String>,
    pub ws_version: String,
    pub websockets_version: String,
}

impl Peers {
    /// Install (or reuse) the peers with `tests/interop/install.sh
    /// --no-apt`: a peer whose toolchain is missing becomes n/a rather than
    /// an apt-get run inside a benchmark.
    pub fn install() -> Peers {
        let script = root().join("tests/interop/install.sh");
        let installed = Command::new("bash")
            .arg(&script)
            .arg("--no-apt")
            .stdout(Stdio::null())
            .status();
        if !installed.is_ok_and(|s| s.success()) {
            eprintln!("scale: {} failed; its peers may be n/a", script.display());
        }
        let ws_version = std::fs::read_to_string(ws_dir().join("ws/package.json"))
            .ok()
            .and_then(|json| json_version(&json))
            .unwrap_or_default();
        let node = match (which("node"), ws_version.is_empty()) {
            (None, _) => Err("n/a (no node on PATH)".into()),
            (Some(_), true) => Err("n/a (ws is not installed in tests/interop)".into()),
            (Some(node), false) => Ok(node),
        };
        let venv = std::env::var_os("WSCORE_INTEROP_DIR")
            .map_or_else(|| root().join("target/interop"), PathBuf::from)
            .join("venv/bin/python");
        let websockets_version = Command::new(&venv)
            .args(["-c", "import websockets; print(websockets.__version__)"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let python = if websockets_version.is_empty() {
            Err("n/a (no venv with websockets: is python3-venv installed?)".into())
        } else {
            Ok(venv)
        };
        Peers {
            node,
            python,
            ws_version,
            websockets_version,
        }
    }

    /// The command for Node `ws`'s echo server, perMessageDeflate on or
    /// off, living `secs` seconds.
    pub fn node_ws(&self, deflate: bool, secs: &str) -> Result<Command, String> {
        let mut c = Command::new(self.node.clone()?);
        // CommonJS `require` honours NODE_PATH, so the script finds the ws
        // that install.sh put under tests/interop.
        c.env("NODE_PATH", ws_dir())
            .arg(root().join("benches/scale/ws_echo.cjs"))
            .args([on_off(deflate), secs]);
        Ok(c)
    }

    /// The command for Python `websockets`'s echo server, its default
    /// compression or none, living `secs` seconds.
    pub fn python_websockets(&self, deflate: bool, secs: &str) -> Result<Command, String> {
        let mut c = Command::new(self.python.clone()?);
        c.arg(root().join("benches/scale/websockets_echo.py"))
            .args([on_off(deflate), secs]);
        Ok(c)
    }
}

fn on_off(deflate: bool) -> &'static str {
    if deflate { "on" } else { "off" }
}

/// Where `npm ci` in tests/interop puts ws.
fn ws_dir() -> PathBuf {
    root().join("tests/interop/node_modules")
}

/// The `"version"` of a package.json, without a JSON parser.
fn json_version(json: &str) -> Option<String> {
    let rest = &json[json.find("\"version\"")? + "\"version\"".len()..];
    let start = rest.find('"')? + 1;
    let len = rest[start..].find('"')?;
    Some(rest[start..start + len].to_owned())
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
