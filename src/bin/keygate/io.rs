//! Where the CLI reads and writes: files or stdin (`-`), stdout, and secret files.
//!
//! Every read names its source in errors (`<stdin>` for `-`) and never repeats the content.
//! Stdout write failures are exit 73, not a panic: a secret that was never delivered must not
//! look like success. Key files are created 0600 and never overwrite anything.

use std::fs;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::exit::Fail;

static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// Whether `p` is `-`, standard input (or output).
pub fn is_dash(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// How a source is named in messages.
pub fn name(p: &Path) -> String {
    if is_dash(p) {
        "<stdin>".into()
    } else {
        p.display().to_string()
    }
}

/// All of standard input; it can be read once per run.
fn read_stdin() -> Result<Vec<u8>, Fail> {
    if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
        return Err(Fail::usage(
            "standard input (-) can be read only once per command",
        ));
    }
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut buf)
        .map_err(|e| Fail::input(format!("<stdin>: cannot read: {e}")))?;
    Ok(buf)
}

/// Reads a file, or standard input for `-`.
pub fn read(p: &Path) -> Result<Vec<u8>, Fail> {
    if is_dash(p) {
        return read_stdin();
    }
    fs::read(p).map_err(|e| Fail::input(format!("{}: cannot read: {e}", p.display())))
}

/// Reads UTF-8 text from a file, or standard input for `-`.
pub fn read_text(p: &Path) -> Result<String, Fail> {
    String::from_utf8(read(p)?).map_err(|e| {
        Fail::input(format!(
            "{}: not UTF-8 text (byte {})",
            name(p),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Key material given on the command line as `flag`: `-` (stdin), a readable file, or the
/// value itself (JSON, or text that does not look like a path). A `secret` value (a private
/// key) is never repeated in a message: one that looks like a path but names no file may be a
/// standard base64 key (`/`) or a JWK holding a URL; given inline, it is readable by other
/// local users (ps, /proc) and kept in shell history, which a note on stderr says.
pub fn file_or_inline(arg: &str, flag: &str, secret: bool) -> Result<String, Fail> {
    let p = Path::new(arg);
    if is_dash(p) || p.is_file() {
        return read_text(p);
    }
    let json = arg.trim_start().starts_with('{');
    if !json && (arg.contains(['/', '\\']) || arg.ends_with(".json")) {
        return Err(Fail::input(if secret {
            format!(
                "{flag}: no such file (the value is not repeated: it may be a key; give a file, or - for stdin)"
            )
        } else {
            format!("{arg}: no such file")
        }));
    }
    if secret {
        eprintln!(
            "keygate: note: {flag} was given a key on the command line, where other local users can read it (ps) and shell history keeps it; pass a file or - (stdin)"
        );
    }
    Ok(arg.to_string())
}

/// A path that a command edits in place: `-` cannot be one.
pub fn editable(p: &Path) -> Result<&Path, Fail> {
    if is_dash(p) {
        return Err(Fail::usage(
            "a key set edited in place must be a file, not - (stdin)",
        ));
    }
    Ok(p)
}

/// Refuses to wait on a terminal for input that was meant to be piped.
pub fn stdin_not_terminal(what: &str) -> Result<(), Fail> {
    if std::io::stdin().is_terminal() {
        return Err(Fail::usage(format!(
            "{what}: expected a file argument or input on stdin, not a terminal"
        )));
    }
    Ok(())
}

fn stdout_failed(e: &std::io::Error) -> Fail {
    Fail::output(format!("cannot write to stdout: {e}"))
}

/// Writes bytes to stdout and flushes.
pub fn print_bytes(bytes: &[u8]) -> Result<(), Fail> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| stdout_failed(&e))
}

/// Writes a line to stdout and flushes.
pub fn println(text: impl std::fmt::Display) -> Result<(), Fail> {
    print_bytes(format!("{text}\n").as_bytes())
}

/// Where a command's secrets go: a new 0600 file (`--out FILE`, created before any change
/// is made, so an existing file stops the command early) or stdout.
pub struct SecretOut {
    file: Option<(PathBuf, fs::File)>,
    done: bool,
}

impl SecretOut {
    /// Creates `--out FILE` now (never overwriting), or chooses stdout (no `--out`, or `-`).
    pub fn open(out: Option<&Path>) -> Result<SecretOut, Fail> {
        let Some(path) = out.filter(|p| !is_dash(p)) else {
            return Ok(SecretOut {
                file: None,
                done: false,
            });
        };
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let f = opts.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Fail::output(format!(
                    "{}: already exists; a key file is never overwritten (remove it or choose another name)",
                    path.display()
                ))
            } else {
                Fail::output(format!("{}: cannot create: {e}", path.display()))
            }
        })?;
        Ok(SecretOut {
            file: Some((path.to_path_buf(), f)),
            done: false,
        })
    }

    /// Writes the secret JSON (one line) and keeps the file.
    pub fn write(mut self, json: &serde_json::Value) -> Result<(), Fail> {
        let line = format!("{json}\n");
        match &mut self.file {
            None => {
                warn_if_stdout_is_shared_file();
                print_bytes(line.as_bytes())?;
            }
            Some((path, f)) => {
                f.write_all(line.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| Fail::output(format!("{}: cannot write: {e}", path.display())))?;
                eprintln!("keygate: {}: written (mode 0600)", path.display());
            }
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for SecretOut {
    /// A file created for secrets that were never written is removed again.
    fn drop(&mut self) {
        if let (Some((path, _)), false) = (&self.file, self.done) {
            let _ = fs::remove_file(path);
        }
    }
}

/// Secrets still go to stdout (0.1 did so, and pipes need it); when stdout is a regular file
/// that others may read (`keygen > key.json` under a 022 umask), say so and how to fix it.
fn warn_if_stdout_is_shared_file() {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() else {
            return;
        };
        let Ok(meta) = fs::File::from(fd).metadata() else {
            return;
        };
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_file() && mode & 0o077 != 0 {
            eprintln!(
                "keygate: warning: stdout is a file with mode {mode:04o}, readable by others, and now holds a secret; \
                 run `chmod 600` on it, or use --out FILE (created 0600)"
            );
        }
    }
}
