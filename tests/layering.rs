//! The kernel's layers, checked on the host (no QEMU): every path a file
//! of `kernel/src` names (`crate::x::…`, `super::…` that leaves its
//! directory, and the `print!`/`println!` macros) must be allowed by
//! [`ALLOWED`]. A call that goes up fails the test with its file and line.
//!
//! Data flows one way, up: hardware → drivers → runtime → programs. Calls
//! go the other way, down. An event from below reaches a layer above only
//! as a return value or through the one named entry for interrupts,
//! `arch::entry::InterruptEntry`, which `main.rs` — the top, which knows
//! every layer — fills in at boot. See docs/scheduler.md, "Layers".

use std::fs;
use std::path::{Path, PathBuf};

/// What each unit of `kernel/src` (a directory, or a file at its top) may
/// name, and why. Bottom first. `console` stands for the `print!` and
/// `println!` macros (COM1, in `drivers::serial`).
const ALLOWED: &[(&str, &[&str], &str)] = &[
    (
        "arch",
        &["sync", "mm", "fault", "console"],
        "the hardware, at the bottom. Two sideways edges, both kept on \
         purpose: arch reaches its MMIO registers (LAPIC, IOAPIC, ECAM), the \
         ACPI tables and the AP trampoline page through mm's page tables \
         (and the stack walk asks mm whether a page is mapped), \
         while mm shoots TLBs down with arch's IPIs; and the IOAPIC's \
         register window is guarded by sync's IrqLock",
    ),
    ("sync", &["arch"], "IrqLock: a spinlock that turns arch's interrupt flag off; used by every layer"),
    ("mm", &["arch", "sync", "fault", "console"], "frames, page tables, heap and goroutine stacks, on arch"),
    ("drivers", &["arch", "sync", "mm", "fault", "console"], "serial, fw_cfg, virtio-net: they return what they saw, and never call the runtime"),
    (
        "runtime",
        &["arch", "sync", "mm", "drivers", "fault", "console"],
        "the scheduler, above the drivers: the execution trace writes its bytes to drivers::serial (runtime/trace.rs), a call down",
    ),
    ("net", &["arch", "sync", "mm", "drivers", "runtime", "fault", "console"], "TCP/IP over the virtio-net driver, parking goroutines through the runtime's netpoller"),
    ("programs", &["arch", "sync", "mm", "drivers", "runtime", "net", "fault", "console"], "what PROG= runs, on everything below"),
    (
        "fault",
        &["arch", "drivers", "runtime"],
        "the fatal path, like Linux's panic: every layer above sync may end the run through it, \
         and it reads the layers it reports on (the emergency console; the runtime, \
         to name the goroutine whose stack overflowed)",
    ),
    ("cmdline", &["runtime"], "the command line, parsed above the runtime: GODEBUG's switches are the runtime's table (runtime::debug)"),
    (
        "main",
        &["arch", "sync", "mm", "drivers", "runtime", "net", "programs", "fault", "cmdline", "console"],
        "the top: brings every layer up in order and wires the interrupt entry",
    ),
];

/// Every unit's allowed targets are units (or `console`).
#[test]
fn the_table_names_only_units() {
    for (unit, may, _) in ALLOWED {
        for to in *may {
            assert!(
                *to == "console" || ALLOWED.iter().any(|(u, _, _)| u == to),
                "ALLOWED: {unit} may name {to}, which is not a unit"
            );
        }
    }
}

#[test]
fn no_layer_names_a_layer_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernel/src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 50, "found only {} files under {}", files.len(), root.display());
    let mut errors = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap();
        let module = module_path(rel);
        let unit = module.first().map_or("main", String::as_str);
        let Some((_, may, _)) = ALLOWED.iter().find(|(u, _, _)| *u == unit) else {
            errors.push(format!("kernel/src/{}: unit `{unit}` is not in ALLOWED (tests/layering.rs): place it", rel.display()));
            continue;
        };
        let text = fs::read_to_string(file).unwrap();
        for (i, line) in text.lines().enumerate() {
            for (to, what) in references(code_of(line), &module) {
                if to != unit && !may.contains(&to.as_str()) {
                    errors.push(format!(
                        "kernel/src/{}:{}: {unit} names {to} (`{what}`), which it may not; {unit} may name: {}",
                        rel.display(),
                        i + 1,
                        may.join(", ")
                    ));
                }
            }
        }
    }
    assert!(errors.is_empty(), "upward references (see ALLOWED in tests/layering.rs):\n{}", errors.join("\n"));
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file defines: `runtime/proc.rs` → [runtime, proc],
/// `runtime/mod.rs` → [runtime], `main.rs` → [].
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    match last.as_str() {
        "mod.rs" | "main.rs" => {}
        name => parts.push(name.trim_end_matches(".rs").to_string()),
    }
    parts
}

/// The line without its `//` comment (doc comments name other layers).
fn code_of(line: &str) -> &str {
    line.find("//").map_or(line, |i| &line[..i])
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> &str {
    &s[..s.find(|c| !is_ident(c)).unwrap_or(s.len())]
}

/// The units that `code` names, each with the text that names it.
fn references(code: &str, module: &[String]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        if i > 0 && is_ident(code[..i].chars().next_back().unwrap()) {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::c}`: the first word of each top-level item.
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for item in inner.split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    found.push((unit_of(name), format!("crate::{{{}}}", inner.trim())));
                }
            }
        } else {
            let name = ident(rest);
            found.push((unit_of(name), format!("crate::{name}")));
        }
    }
    for (i, _) in code.match_indices("super::") {
        if i > 0 && (is_ident(code[..i].chars().next_back().unwrap()) || code[..i].ends_with("::")) {
            continue;
        }
        let mut rest = &code[i..];
        let mut depth = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            depth += 1;
            rest = r;
        }
        // Only a path that climbs out of the file's top directory leaves
        // its unit.
        if depth >= module.len() {
            let name = ident(rest);
            found.push((unit_of(name), format!("{}{name}", "super::".repeat(depth))));
        }
    }
    for mac in ["print!", "println!"] {
        for (i, _) in code.match_indices(mac) {
            if i == 0 || !is_ident(code[..i].chars().next_back().unwrap()) {
                found.push(("console".to_string(), mac.to_string()));
            }
        }
    }
    found
}

/// The unit a name at the crate root belongs to: the print macros are the
/// console; anything else is its own module.
fn unit_of(name: &str) -> String {
    match name {
        "print" | "println" => "console".to_string(),
        _ => name.to_string(),
    }
}
