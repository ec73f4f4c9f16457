//! The key set file as an editable JSON document: read, validate, and write atomically.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use keygate::{KeySet, UnixTime, Unseal};
use serde_json::{Map, Value};

use crate::exit::Fail;

/// A key set document being edited. Field order is preserved on write.
pub struct Doc {
    pub path: PathBuf,
    pub root: Map<String, Value>,
}

impl Doc {
    /// Reads and validates a key set file (an invalid file is not edited).
    pub fn open(path: &Path) -> Result<Doc, Fail> {
        let bytes = crate::io::read(path)?;
        // Editing needs no seal keys: sealed secrets are carried as they are.
        crate::util::valid_keyset(path, &bytes, "edit", Unseal::FormOnly)?;
        let root = match serde_json::from_slice(&bytes) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(Fail::input(format!(
                    "{}: not a JSON object",
                    path.display()
                )));
            }
        };
        Ok(Doc {
            path: path.to_path_buf(),
            root,
        })
    }

    /// The `keys` array.
    pub fn keys_mut(&mut self) -> &mut Vec<Value> {
        let v = self
            .root
            .entry("keys")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !v.is_array() {
            *v = Value::Array(Vec::new());
        }
        v.as_array_mut().expect("just made an array")
    }

    /// The index of the key with this id.
    pub fn find(&mut self, id: &str) -> Result<usize, Fail> {
        let path = self.path.display().to_string();
        self.keys_mut()
            .iter()
            .position(|k| k.get("id").and_then(Value::as_str) == Some(id))
            .ok_or_else(|| Fail::input(format!("{path}: no key with id {id:?}")))
    }

    /// Lists key `id` in the `webhook_keys` of the route with path `route` (the first one, if
    /// several), or puts a new `POST` route for it first.
    pub fn accept_webhooks(&mut self, route: &str, id: &str) {
        let routes = self
            .root
            .entry("routes")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !routes.is_array() {
            *routes = Value::Array(Vec::new());
        }
        let list = routes.as_array_mut().expect("just made an array");
        if let Some(r) = list
            .iter_mut()
            .find(|r| r.get("path").and_then(Value::as_str) == Some(route))
            .and_then(Value::as_object_mut)
        {
            let keys = r
                .entry("webhook_keys")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(k) = keys.as_array_mut() {
                k.push(Value::String(id.to_string()));
            }
            return;
        }
        list.insert(
            0,
            serde_json::json!({"methods": ["POST"], "path": route, "webhook_keys": [id]}),
        );
    }

    /// Lists `new` wherever `old` is listed in a route's `webhook_keys` (a rotation).
    pub fn follow_webhooks(&mut self, old: &str, new: &str) {
        let Some(Value::Array(list)) = self.root.get_mut("routes") else {
            return;
        };
        for r in list {
            if let Some(Value::Array(keys)) = r.get_mut("webhook_keys")
                && keys.iter().any(|k| k == old)
            {
                keys.push(Value::String(new.to_string()));
            }
        }
    }

    /// Revision + 1 and `issued_at` = now.
    pub fn bump(&mut self, now: UnixTime) {
        let rev = self
            .root
            .get("revision")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        self.root.insert("revision".into(), Value::from(rev + 1));
        self.root
            .insert("issued_at".into(), Value::String(now.to_rfc3339()));
    }

    /// Validates the edited document and replaces the file atomically. On any error the file
    /// is left untouched. Returns the validated set (for lints).
    pub fn save(&self) -> Result<KeySet, Fail> {
        let mut text = serde_json::to_string_pretty(&Value::Object(self.root.clone()))
            .map_err(|e| Fail::internal(format!("cannot serialise the key set: {e}")))?;
        text.push('\n');
        let ks = KeySet::from_json_with(text.as_bytes(), Unseal::FormOnly).map_err(|errs| {
            Fail::input(format!(
                "the edit would make the key set invalid; {} left untouched:\n{errs}",
                self.path.display()
            ))
        })?;
        write_atomic(&self.path, text.as_bytes())?;
        Ok(ks)
    }
}

/// Writes `bytes` to a temporary file beside `path`, fsyncs it, and renames it over `path`.
/// New files are created readable by the owner only: key sets may hold HMAC secrets.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Fail> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let fail = |e: std::io::Error| Fail::output(format!("{}: cannot write: {e}", path.display()));
    let result = (|| {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            let mode = fs::metadata(path)
                .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
                .unwrap_or(0o600);
            opts.mode(mode);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(fail)
}
