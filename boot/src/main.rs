//! `gmpos-run`: boots gmpos in QEMU with the serial console on the terminal.
//! `make run` and `make gdb` call it; `gmpos-run --help` says how.
//! Exit status: 0 when the kernel reports success, 1 for any other end of the
//! run, 2 for a usage error.

use boot::{Accel, Forward, Outcome, Qemu, RunError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: gmpos-run [OPTIONS] [KEY=VALUE ...]

Boots the gmpos kernel in QEMU with its serial console on this terminal.
Ctrl-A X quits QEMU (Ctrl-A H lists the other Ctrl-A keys).

Options:
  --smp N           virtual CPUs, 1..=64 (default 4)
  --mem MIB         guest memory in MiB (default 2048)
  --accel tcg|kvm   accelerator (default tcg; kvm only on request)
  --timeout SECS    kill QEMU after SECS seconds, 0 = never
                    (default 600, or never with --gdb)
  --icount          one virtual ns per guest instruction: exact, repeatable
                    timing; runs all vCPUs on one host thread
  --gdb             start paused with a gdb stub on localhost:1234
  --http-port P     forward 127.0.0.1:P on this host to the guest's TCP port 80
                    (PROG=httpd); 0 = no forwarding (the default)
  --echo-port P     forward 127.0.0.1:P, TCP and UDP, to the guest's port 7
                    (PROG=echo); 0 = no forwarding (the default)
  --trace DIR       record an execution trace (adds GODEBUG trace=1); when
                    the run ends, write DIR/PROG.trace (raw), DIR/PROG.json
                    (Perfetto, chrome://tracing) and DIR/PROG.svg (timeline)
  --print-cmd       print the QEMU command line and exit
  --print-image     print the path of the BIOS disk image and exit
  --print-symbols   print the gdb command that loads the kernel's symbols and exit
  --symbolize       read what a run printed on standard input and print it
                    with every rip=0x... and ret=0x... named (function and
                    source line) from the kernel's symbols, then exit
  -h, --help        print this help and exit

Kernel arguments are KEY=VALUE words, passed to the kernel as they are:
  PROG=demo         the program to run
  GOMAXPROCS=N      number of Ps
  GODEBUG=k=v,...   as in Go, e.g. GODEBUG=schedtrace=100,scheddetail=1
  N=..., CPU=...    program parameters

Exit status: 0 if the kernel reported success; 1 if it reported failure or
the run ended any other way (reset, timeout, QEMU error); 2 for a usage error.
";

enum Action {
    Run,
    PrintCmd,
    PrintImage,
    PrintSymbols,
    Symbolize,
    Help,
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Ok((Action::Help, _)) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok((Action::PrintSymbols, _)) => {
            println!("{}", boot::gdb_symbols());
            ExitCode::SUCCESS
        }
        Ok((Action::Symbolize, _)) => {
            let mut text = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
                eprintln!("gmpos-run: --symbolize: cannot read standard input: {e}");
                return ExitCode::FAILURE;
            }
            print!("{}", boot::symbols::symbolize(&text, boot::kernel_elf()));
            ExitCode::SUCCESS
        }
        Ok((Action::PrintImage, _)) => {
            println!("{}", boot::bios_image().display());
            ExitCode::SUCCESS
        }
        Ok((Action::PrintCmd, q)) => {
            println!("{}", q.command_line(boot::Console::Interactive));
            ExitCode::SUCCESS
        }
        Ok((Action::Run, q)) => {
            let status = run(&q);
            // A failed run's trace is converted too (it may show why), but
            // the run's status stands.
            match q.trace_file.as_deref().map(convert_trace) {
                Some(Err(e)) => {
                    eprintln!("gmpos-run: trace: {e}");
                    ExitCode::FAILURE
                }
                _ => status,
            }
        }
        Err(msg) => {
            eprintln!("gmpos-run: {msg}");
            eprintln!("gmpos-run: try `gmpos-run --help`");
            ExitCode::from(2)
        }
    }
}

fn run(q: &Qemu) -> ExitCode {
    let words = if q.args.is_empty() { "with no arguments".to_string() } else { q.kernel_cmdline() };
    eprintln!("gmpos-run: booting {words} on {}; Ctrl-A X quits", q.describe());
    for f in &q.forwards {
        eprintln!("gmpos-run: {:?} 127.0.0.1:{} -> guest port {}", f.proto, f.host_port, f.guest_port);
    }
    if q.gdb {
        eprintln!("gmpos-run: QEMU waits for gdb; in another terminal run:");
        eprintln!("    {}", boot::gdb_command());
    }
    match q.run_interactive() {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Reset) => {
            eprintln!("gmpos-run: QEMU exited without a result from the kernel: quit with Ctrl-A X, or {}", Outcome::Reset);
            ExitCode::FAILURE
        }
        Ok(outcome) => {
            eprintln!("gmpos-run: {outcome}");
            eprintln!("gmpos-run: to name the code addresses of a report, save the output and run `make symbolize < FILE`");
            ExitCode::FAILURE
        }
        Err(e @ RunError::Invalid(_)) => {
            eprintln!("gmpos-run: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("gmpos-run: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Turns the raw trace `file` (DIR/PROG.trace) into DIR/PROG.json and
/// DIR/PROG.svg and prints their paths.
fn convert_trace(file: &Path) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let trace = boot::trace::parse(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("trace");
    let title = format!("gmpos PROG={stem}: {} events on {} Ps", trace.events.len(), trace.gomaxprocs);
    let json = file.with_extension("json");
    let svg = file.with_extension("svg");
    std::fs::write(&json, trace.chrome_json(&title)).map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    std::fs::write(&svg, trace.svg(&title)).map_err(|e| format!("cannot write {}: {e}", svg.display()))?;
    if trace.lost > 0 {
        eprintln!("gmpos-run: trace: {} events were lost (a core's buffer filled up)", trace.lost);
    }
    println!("trace: {} events, {} goroutine runs", trace.events.len(), trace.slices().len());
    println!("trace: Perfetto/chrome://tracing JSON: {}", json.display());
    println!("trace: SVG timeline:                   {}", svg.display());
    Ok(())
}

fn parse(argv: impl Iterator<Item = String>) -> Result<(Action, Qemu), String> {
    let mut q = Qemu::new(4);
    let mut trace_dir: Option<PathBuf> = None;
    let mut action = Action::Run;
    let mut timeout: Option<u64> = None;
    let mut argv = argv.peekable();
    let mut only_words = false;
    while let Some(arg) = argv.next() {
        if only_words || !arg.starts_with('-') {
            boot::check_word(&arg)?;
            q.args.push(arg);
            continue;
        }
        // Accept both `--smp 4` and `--smp=4`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline.clone().or_else(|| argv.next()).ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--smp" => {
                q.smp = number(&value("--smp")?, "--smp")?;
                if !(1..=boot::MAX_SMP).contains(&q.smp) {
                    return Err(format!("--smp must be 1..={} (gmpos runs on at most {0} cores), not {}", boot::MAX_SMP, q.smp));
                }
            }
            "--mem" => {
                q.mem_mib = number(&value("--mem")?, "--mem")?;
                if q.mem_mib == 0 {
                    return Err("--mem must be at least 1 (MiB)".into());
                }
            }
            "--accel" => q.accel = value("--accel")?.parse()?,
            "--timeout" => timeout = Some(number(&value("--timeout")?, "--timeout")?),
            "--http-port" => match number(&value("--http-port")?, "--http-port")? {
                0 => {}
                port => q.forwards.push(Forward::tcp(port, boot::HTTP_GUEST_PORT)),
            },
            "--echo-port" => match number(&value("--echo-port")?, "--echo-port")? {
                0 => {}
                port => {
                    q.forwards.push(Forward::tcp(port, boot::ECHO_GUEST_PORT));
                    q.forwards.push(Forward::udp(port, boot::ECHO_GUEST_PORT));
                }
            },
            "--trace" => trace_dir = Some(PathBuf::from(value("--trace")?)),
            "--icount" | "--gdb" | "--print-cmd" | "--print-image" | "--print-symbols" | "--symbolize" | "--help"
            | "-h" | "--"
                if inline.is_some() =>
            {
                return Err(format!("{flag} takes no value"));
            }
            "--icount" => q.icount = true,
            "--gdb" => q.gdb = true,
            "--print-cmd" => action = Action::PrintCmd,
            "--print-image" => action = Action::PrintImage,
            "--print-symbols" => action = Action::PrintSymbols,
            "--symbolize" => action = Action::Symbolize,
            "--help" | "-h" => return Ok((Action::Help, q)),
            "--" => only_words = true,
            _ => return Err(format!("unknown option {arg:?}")),
        }
    }
    q.timeout = match timeout {
        Some(0) => None,
        Some(s) => Some(Duration::from_secs(s)),
        None if q.gdb => None,
        None => Some(boot::DEFAULT_TIMEOUT),
    };
    if let Some(dir) = trace_dir {
        std::fs::create_dir_all(&dir).map_err(|e| format!("--trace: cannot create {}: {e}", dir.display()))?;
        let prog = q.args.iter().rev().find_map(|w| w.strip_prefix("PROG=")).unwrap_or("demo").to_string();
        let file = dir.join(format!("{prog}.trace"));
        // A stale trace must not pass for this run's.
        let _ = std::fs::remove_file(&file);
        q.trace(file);
    }
    if q.icount && q.accel == Accel::Kvm {
        return Err("--icount needs TCG; it cannot be used with --accel kvm".into());
    }
    q.check().map_err(|e| e.to_string())?;
    if matches!(action, Action::Run) {
        check_ports_free(&q)?;
    }
    Ok((action, q))
}

/// QEMU fails with a terse message when a forwarded port is taken: say
/// which one, and how to choose another.
fn check_ports_free(q: &Qemu) -> Result<(), String> {
    for f in &q.forwards {
        let free = match f.proto {
            boot::Proto::Tcp => std::net::TcpListener::bind(("127.0.0.1", f.host_port)).is_ok(),
            boot::Proto::Udp => std::net::UdpSocket::bind(("127.0.0.1", f.host_port)).is_ok(),
        };
        if !free {
            return Err(format!(
                "host port {} ({:?}) is already in use; pick another (make: HTTP_PORT=... / ECHO_PORT=...)",
                f.host_port, f.proto
            ));
        }
    }
    Ok(())
}

fn number<T: std::str::FromStr>(s: &str, flag: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("{flag} needs a whole number, not {s:?}"))
}
