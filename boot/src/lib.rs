//! Host side of gmpos: the one place that knows how QEMU is started, how long
//! a run may take and what its exit status means.
//!
//! Everything that boots the kernel goes through [`Qemu`]: the `gmpos-run`
//! binary (and so `make run`), and the integration tests under `tests/`.
//!
//! # The contract with the kernel
//!
//! | what | how |
//! |---|---|
//! | disk image | the BIOS image `boot/build.rs` makes ([`bios_image`]) |
//! | console | COM1 (0x3f8), QEMU's `-serial` |
//! | execution trace | COM2 (0x2f8), a second `-serial file:...`, only with [`Qemu::trace`] (`GODEBUG=trace=1`); decoded by [`trace`] |
//! | command line | whitespace-separated `KEY=VALUE` words in the fw_cfg file [`CMDLINE_FW_CFG`]; the file is **absent** when there are no words (QEMU rejects an empty string) |
//! | network | a virtio-net card on QEMU user networking (guest 10.0.2.15, gateway 10.0.2.2), always present; [`Forward`]s make guest ports reachable on the host's 127.0.0.1 |
//! | result | the kernel writes [`EXIT_SUCCESS`] or [`EXIT_FAILURE`] to the isa-debug-exit port [`EXIT_PORT`]; QEMU then exits with `(value << 1) \| 1`, 33 or 35 |
//!
//! Anything else is a failure of some kind, and [`Outcome`] says which: QEMU
//! exiting with 0 means the guest reset or shut down without reporting (with
//! `-no-reboot` a triple fault ends that way), a run longer than its timeout
//! is killed, and any other status is named as it is.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub mod bench;
pub mod rng;
pub mod symbols;
pub mod torture;
pub mod trace;

/// The QEMU binary, looked up on `PATH`.
pub const QEMU_BIN: &str = "qemu-system-x86_64";
/// The I/O port of QEMU's isa-debug-exit device.
pub const EXIT_PORT: u16 = 0xf4;
/// Written to [`EXIT_PORT`] by the kernel when the run succeeded.
pub const EXIT_SUCCESS: u8 = 0x10;
/// Written to [`EXIT_PORT`] by the kernel when the run failed.
pub const EXIT_FAILURE: u8 = 0x11;
/// The fw_cfg file that carries the kernel command line.
pub const CMDLINE_FW_CFG: &str = "opt/gmpos/cmdline";
/// Guest memory unless told otherwise.
pub const DEFAULT_MEM_MIB: u32 = 2048;
/// How long a run may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// The most vCPUs gmpos runs on: the kernel brings up at most 64 cores
/// (`kernel/src/arch/x86_64/cpu.rs`'s `MAX_CPUS`: the scheduler's idle P
/// and M sets are one 64-bit mask each), and refuses a machine with more
/// rather than ignore some of its cores.
pub const MAX_SMP: u32 = 64;
/// The TCP port of QEMU's gdb stub (`-s`).
pub const GDB_PORT: u16 = 1234;

/// The guest port the kernel's HTTP server (`PROG=httpd`) listens on.
pub const HTTP_GUEST_PORT: u16 = 80;
/// The guest port of the echo server (`PROG=echo`), TCP and UDP.
pub const ECHO_GUEST_PORT: u16 = 7;

/// A transport protocol, for port forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

/// A host port on 127.0.0.1 forwarded to a guest port (QEMU's `hostfwd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    pub proto: Proto,
    pub host_port: u16,
    pub guest_port: u16,
}

impl Forward {
    pub fn tcp(host_port: u16, guest_port: u16) -> Forward {
        Forward { proto: Proto::Tcp, host_port, guest_port }
    }

    pub fn udp(host_port: u16, guest_port: u16) -> Forward {
        Forward { proto: Proto::Udp, host_port, guest_port }
    }

    fn hostfwd(&self) -> String {
        let proto = match self.proto {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        };
        format!("hostfwd={proto}:127.0.0.1:{}-:{}", self.host_port, self.guest_port)
    }
}

/// A TCP port on 127.0.0.1 that is free right now (bound, then released),
/// for forwarding to the guest.
pub fn free_port() -> u16 {
    let [port] = free_ports();
    port
}

/// `N` different TCP ports on 127.0.0.1 that are free right now: all are
/// bound before any is released (one at a time, the system may hand out
/// the same port twice: a torture boot once got its echo and HTTP
/// forwards on one port).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [std::net::TcpListener; N] =
        std::array::from_fn(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"));
    listeners.map(|l| l.local_addr().expect("local address").port())
}

/// The BIOS disk image built by `boot/build.rs`.
pub fn bios_image() -> &'static Path {
    Path::new(env!("GMPOS_BIOS_IMAGE"))
}

/// The kernel ELF inside the image, with symbols: what gdb wants.
pub fn kernel_elf() -> &'static Path {
    Path::new(env!("GMPOS_KERNEL_ELF"))
}

/// Where the bootloader places the kernel, a position-independent ELF
/// linked at 0: the first free 512 GiB slot of the address space (bootloader
/// 0.11 without ASLR). gdb must add it to every symbol.
pub const KERNEL_LOAD_OFFSET: u64 = 0x100_0000_0000;

/// The command that attaches gdb to a run started with [`Qemu::gdb`]: the
/// kernel's symbols at their load address, then the stub. Breakpoints set
/// while QEMU waits at the reset vector must be `hbreak` (the kernel's
/// pages are not mapped yet); once the kernel runs, `break` works too.
pub fn gdb_command() -> String {
    format!("gdb -ex {} -ex 'target remote :{GDB_PORT}'", shell_quote(&gdb_symbols()))
}

/// The gdb command that loads the kernel's symbols at their load address.
pub fn gdb_symbols() -> String {
    format!("symbol-file -o {KERNEL_LOAD_OFFSET:#x} {}", kernel_elf().display())
}

/// How QEMU executes the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accel {
    /// QEMU's translator, one host thread per vCPU (`-accel tcg,thread=multi`).
    /// Works everywhere; the default.
    #[default]
    Tcg,
    /// Hardware virtualisation (`-accel kvm`). Opt-in: nested KVM on our
    /// machines is slower than TCG and unreliable.
    Kvm,
}

impl std::str::FromStr for Accel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tcg" | "TCG" => Ok(Accel::Tcg),
            "kvm" | "KVM" => Ok(Accel::Kvm),
            _ => Err(format!("unknown accelerator {s:?} (expected tcg or kvm)")),
        }
    }
}

impl fmt::Display for Accel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Accel::Tcg => "TCG",
            Accel::Kvm => "KVM",
        })
    }
}

/// Where the guest's serial console goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    /// `-serial stdio`, read by us into [`Captured::serial`].
    Captured,
    /// `-serial mon:stdio` on the terminal: Ctrl-A X quits, Ctrl-A C
    /// switches to the QEMU monitor.
    Interactive,
}

/// One QEMU run of the gmpos image. Fill the fields, then call
/// [`run_captured`](Qemu::run_captured) or [`run_interactive`](Qemu::run_interactive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qemu {
    /// Number of vCPUs, `1..=MAX_SMP`.
    pub smp: u32,
    /// Guest memory in MiB.
    pub mem_mib: u32,
    pub accel: Accel,
    /// `-icount shift=0,sleep=off`: one virtual nanosecond per guest
    /// instruction, so `rdtsc` deltas are exact instruction counts. Forces
    /// single-threaded TCG (all vCPUs share one host thread).
    pub icount: bool,
    /// Kill QEMU after this long; `None` waits for ever.
    pub timeout: Option<Duration>,
    /// `-s -S`: start paused, with a gdb stub on [`GDB_PORT`].
    pub gdb: bool,
    /// Kernel command line words, each `KEY=VALUE` (see [`check_word`]).
    pub args: Vec<String>,
    /// Host ports forwarded to the guest (none by default).
    pub forwards: Vec<Forward>,
    /// The disk image to boot; [`bios_image`] unless changed.
    pub image: PathBuf,
    /// Boot this Linux kernel instead of the image, with the same machine
    /// (`make bench-net`'s peer): `-kernel`, `-initrd`, `-append`.
    pub linux: Option<LinuxBoot>,
    /// Attach the network card to this existing TAP device instead of
    /// QEMU's user networking (then `forwards` cannot be used).
    pub tap: Option<String>,
    /// Run QEMU inside this network namespace (`ip netns exec`), where the
    /// TAP device is.
    pub netns: Option<String>,
    /// Where COM2 (the execution trace) goes; no COM2 when `None`.
    pub trace_file: Option<PathBuf>,
    /// Typed on the console by [`run_captured`](Qemu::run_captured) once
    /// the guest has printed `after`, e.g. Ctrl-\\ (0x1c) for a goroutine
    /// dump. Without it the guest's console input is empty.
    pub keys: Option<Keys>,
    /// QEMU's monitor on this Unix socket (`-monitor unix:...`), for
    /// [`Running::vcpus`]; none when `None`.
    pub monitor: Option<PathBuf>,
}

/// A Linux kernel, its initramfs and its command line, booted directly by
/// QEMU in place of the gmpos image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxBoot {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub append: String,
}

/// Console input for a captured run: `bytes`, sent when the serial output
/// first contains `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub after: String,
    pub bytes: Vec<u8>,
}

impl Qemu {
    /// A TCG run with `smp` vCPUs, [`DEFAULT_MEM_MIB`], [`DEFAULT_TIMEOUT`]
    /// and no kernel arguments.
    pub fn new(smp: u32) -> Self {
        Qemu {
            smp,
            mem_mib: DEFAULT_MEM_MIB,
            accel: Accel::Tcg,
            icount: false,
            timeout: Some(DEFAULT_TIMEOUT),
            gdb: false,
            args: Vec::new(),
            forwards: Vec::new(),
            image: bios_image().to_path_buf(),
            linux: None,
            tap: None,
            netns: None,
            trace_file: None,
            keys: None,
            monitor: None,
        }
    }

    /// Records an execution trace into `file`: adds `trace=1` to the
    /// `GODEBUG` word (creating it if needed) and connects COM2 to `file`.
    pub fn trace(&mut self, file: impl Into<PathBuf>) {
        match self.args.iter_mut().find(|w| w.starts_with("GODEBUG=")) {
            Some(word) if word == "GODEBUG=" => word.push_str("trace=1"),
            Some(word) => word.push_str(",trace=1"),
            None => self.args.push("GODEBUG=trace=1".into()),
        }
        self.trace_file = Some(file.into());
    }

    /// Adds kernel command line words (builder style).
    pub fn args<I, S>(mut self, words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(words.into_iter().map(Into::into));
        self
    }

    /// Checks the settings without starting anything.
    pub fn check(&self) -> Result<(), RunError> {
        if !(1..=MAX_SMP).contains(&self.smp) {
            return Err(RunError::Invalid(format!("smp must be 1..={MAX_SMP} (gmpos runs on at most {MAX_SMP} cores), not {}", self.smp)));
        }
        if self.mem_mib == 0 {
            return Err(RunError::Invalid("memory must be at least 1 MiB".into()));
        }
        if self.icount && self.accel == Accel::Kvm {
            return Err(RunError::Invalid("icount needs TCG; it cannot be used with KVM".into()));
        }
        for word in &self.args {
            check_word(word).map_err(RunError::Invalid)?;
        }
        if self.tap.is_some() && !self.forwards.is_empty() {
            return Err(RunError::Invalid("ports cannot be forwarded on a TAP device (they are for user networking)".into()));
        }
        for (i, f) in self.forwards.iter().enumerate() {
            if f.host_port == 0 || f.guest_port == 0 {
                return Err(RunError::Invalid(format!("port 0 cannot be forwarded ({f:?})")));
            }
            if self.forwards[..i].iter().any(|g| g.proto == f.proto && g.host_port == f.host_port) {
                return Err(RunError::Invalid(format!("host port {} is forwarded twice", f.host_port)));
            }
        }
        Ok(())
    }

    /// The kernel command line: the words joined by single spaces.
    pub fn kernel_cmdline(&self) -> String {
        self.args.join(" ")
    }

    /// QEMU's arguments (without the program name).
    pub fn qemu_args(&self, console: Console) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let mut push = |words: &[&str]| a.extend(words.iter().map(|w| w.to_string()));
        push(&["-machine", "q35", "-cpu", "max"]);
        push(&["-m", &format!("{}M", self.mem_mib), "-smp", &self.smp.to_string()]);
        match (self.accel, self.icount) {
            (Accel::Kvm, _) => push(&["-accel", "kvm"]),
            // icount is only implemented for single-threaded TCG.
            (Accel::Tcg, true) => push(&["-accel", "tcg,thread=single", "-icount", "shift=0,sleep=off"]),
            (Accel::Tcg, false) => push(&["-accel", "tcg,thread=multi"]),
        }
        // snapshot=on: the guest's writes (there are none) would go to a
        // temporary file, and the image is opened read-only, so any number
        // of runs (`make run` beside `make test`) can share it.
        match &self.linux {
            Some(linux) => push(&[
                "-kernel",
                &linux.kernel.display().to_string(),
                "-initrd",
                &linux.initrd.display().to_string(),
                "-append",
                &linux.append,
            ]),
            None => push(&["-drive", &format!("format=raw,snapshot=on,file={}", qemu_escape(&self.image.display().to_string()))]),
        }
        push(&["-display", "none", "-no-reboot"]);
        push(&["-device", &format!("isa-debug-exit,iobase={EXIT_PORT:#x},iosize=0x04")]);
        let netdev: String = match &self.tap {
            Some(ifname) => format!("tap,id=n0,ifname={},script=no,downscript=no", qemu_escape(ifname)),
            None => std::iter::once("user,id=n0".to_string())
                .chain(self.forwards.iter().map(Forward::hostfwd))
                .collect::<Vec<_>>()
                .join(","),
        };
        // No option ROM: the BIOS would otherwise load iPXE for nothing.
        push(&["-netdev", &netdev, "-device", "virtio-net-pci,netdev=n0,romfile="]);
        push(&[
            "-serial",
            match console {
                Console::Captured => "stdio",
                Console::Interactive => "mon:stdio",
            },
        ]);
        if let Some(file) = &self.trace_file {
            push(&["-serial", &format!("file:{}", qemu_escape(&file.display().to_string()))]);
        }
        let cmdline = self.kernel_cmdline();
        if !cmdline.is_empty() {
            push(&["-fw_cfg", &format!("name={CMDLINE_FW_CFG},string={}", qemu_escape(&cmdline))]);
        }
        if let Some(socket) = &self.monitor {
            push(&["-monitor", &format!("unix:{},server=on,wait=off", qemu_escape(&socket.display().to_string()))]);
        }
        if self.gdb {
            push(&["-s", "-S"]);
        }
        a
    }

    /// The QEMU command, with no stdio settings.
    pub fn command(&self, console: Console) -> Command {
        let mut words = self.program().into_iter();
        let mut cmd = Command::new(words.next().expect("a program"));
        cmd.args(words).args(self.qemu_args(console));
        cmd
    }

    /// The QEMU command as one line that can be pasted into a shell.
    pub fn command_line(&self, console: Console) -> String {
        self.program()
            .into_iter()
            .chain(self.qemu_args(console))
            .map(|a| shell_quote(&a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// QEMU's binary, behind `ip netns exec NS` when [`Qemu::netns`] is set.
    fn program(&self) -> Vec<String> {
        match &self.netns {
            Some(ns) => vec!["ip".into(), "netns".into(), "exec".into(), ns.clone(), QEMU_BIN.into()],
            None => vec![QEMU_BIN.into()],
        }
    }

    /// A short description for humans: `"4 vCPUs (TCG)"`.
    pub fn describe(&self) -> String {
        let cpus = if self.smp == 1 { "1 vCPU".to_string() } else { format!("{} vCPUs", self.smp) };
        let icount = if self.icount { ", icount" } else { "" };
        format!("{cpus} ({}{icount})", self.accel)
    }

    /// Boots with the serial console captured; returns once QEMU has exited
    /// or been killed at the timeout. A guest failure is an [`Outcome`], not
    /// an error: `Err` means QEMU could not be run at all.
    pub fn run_captured(&self) -> Result<Captured, RunError> {
        let mut cmd = self.prepare(Console::Captured)?;
        let stdin = if self.keys.is_some() { Stdio::piped() } else { Stdio::null() };
        cmd.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = Reaper(spawn(cmd)?);
        let stdout = match (&self.keys, child.0.stdin.take()) {
            (Some(keys), Some(stdin)) => drain_and_type(child.0.stdout.take(), keys.clone(), stdin),
            _ => drain(child.0.stdout.take()),
        };
        let stderr = drain(child.0.stderr.take());
        let outcome = wait(&mut child.0, self.timeout).map_err(RunError::Io)?;
        let elapsed = start.elapsed();
        let serial = stdout.join().unwrap_or_default();
        let qemu_stderr = stderr.join().unwrap_or_default();
        Ok(Captured {
            outcome,
            serial: serial.replace("\r\n", "\n"),
            qemu_stderr,
            elapsed,
            command_line: self.command_line(Console::Captured),
        })
    }

    /// Boots with the serial console (multiplexed with QEMU's monitor) on
    /// this process's terminal.
    pub fn run_interactive(&self) -> Result<Outcome, RunError> {
        let cmd = self.prepare(Console::Interactive)?;
        let mut child = Reaper(spawn(cmd)?);
        wait(&mut child.0, self.timeout).map_err(RunError::Io)
    }

    /// Boots with the serial console captured and returns at once, for a
    /// host program (a test) that talks to the guest over the network while
    /// it runs. [`Running::stop`] ends the run.
    pub fn spawn_captured(&self) -> Result<Running, RunError> {
        let mut cmd = self.prepare(Console::Captured)?;
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = Reaper(spawn(cmd)?);
        let serial = Arc::new((Mutex::new(String::new()), Condvar::new()));
        let stdout = child.0.stdout.take();
        let sink = serial.clone();
        let reader = thread::spawn(move || {
            let Some(mut pipe) = stdout else { return };
            let mut buf = [0u8; 4096];
            let mut pending = Vec::new();
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                pending.extend_from_slice(&buf[..n]);
                let (text, changed) = &*sink;
                text.lock().unwrap_or_else(|e| e.into_inner()).push_str(&take_utf8(&mut pending).replace('\r', ""));
                changed.notify_all();
            }
        });
        let stderr = drain(child.0.stderr.take());
        Ok(Running {
            child,
            serial,
            reader: Some(reader),
            stderr: Some(stderr),
            start: Instant::now(),
            command_line: self.command_line(Console::Captured),
        })
    }

    fn prepare(&self, console: Console) -> Result<Command, RunError> {
        self.check()?;
        if self.linux.is_none() && !self.image.is_file() {
            return Err(RunError::Invalid(format!(
                "the disk image {} is missing; rebuild it with `cargo build -p boot`",
                self.image.display()
            )));
        }
        Ok(self.command(console))
    }
}

/// Decodes the complete characters at the front of `bytes` and leaves an
/// incomplete one at the end for the next read: a character split between
/// two reads of the pipe must not turn into two replacement characters.
/// Invalid bytes become U+FFFD, as in `String::from_utf8_lossy`.
fn take_utf8(bytes: &mut Vec<u8>) -> String {
    // The length of an incomplete character at the end, if there is one.
    let keep = (1..=bytes.len().min(3))
        .find(|&k| {
            let tail = &bytes[bytes.len() - k..];
            matches!(std::str::from_utf8(tail), Err(e) if e.valid_up_to() == 0 && e.error_len().is_none())
        })
        .unwrap_or(0);
    let rest = bytes.split_off(bytes.len() - keep);
    let text = String::from_utf8_lossy(bytes).into_owned();
    *bytes = rest;
    text
}

/// What a captured run produced.
#[derive(Debug, Clone)]
pub struct Captured {
    pub outcome: Outcome,
    /// Everything the guest wrote to its serial port, `\r\n` turned into `\n`.
    pub serial: String,
    /// QEMU's own messages (warnings, errors), not the guest's.
    pub qemu_stderr: String,
    /// Wall-clock time from spawning QEMU until it exited.
    pub elapsed: Duration,
    /// The command that was run, for pasting into a shell.
    pub command_line: String,
}

/// A run started with [`Qemu::spawn_captured`]. Dropping it kills QEMU.
pub struct Running {
    child: Reaper,
    serial: Arc<(Mutex<String>, Condvar)>,
    reader: Option<thread::JoinHandle<()>>,
    stderr: Option<thread::JoinHandle<String>>,
    start: Instant,
    command_line: String,
}

impl Running {
    /// The serial output so far.
    pub fn serial(&self) -> String {
        self.serial.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits up to `timeout` for a serial line starting with `prefix` and
    /// returns it; `None` if it did not come (or QEMU exited first).
    pub fn wait_for_line(&mut self, prefix: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let serial = self.serial.clone();
        let (text, changed) = &*serial;
        let mut guard = text.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(line) = guard.lines().find(|l| l.starts_with(prefix)) {
                // Only a complete line (the kernel may be mid-way through it).
                if guard.contains(&format!("{line}\n")) {
                    return Some(line.to_string());
                }
            }
            let now = Instant::now();
            if now >= deadline || !self.is_running() {
                return None;
            }
            let wait = (deadline - now).min(Duration::from_millis(100));
            guard = changed.wait_timeout(guard, wait).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Whether QEMU is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.0.try_wait(), Ok(None))
    }

    /// Where every vCPU is, read by QEMU itself (the monitor's `info
    /// registers -a`), so it works whatever the guest does — interrupts
    /// off, no tick: one line per vCPU, `vcpu N: rip=0x... rsp=0x...
    /// halted=0/1`. Needs [`Qemu::monitor`]; `None` if the monitor does not
    /// answer.
    #[cfg(unix)]
    pub fn vcpus(&self, socket: &Path) -> Option<String> {
        use std::io::Write;
        use std::os::unix::net::UnixStream;
        let mut s = UnixStream::connect(socket).ok()?;
        s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
        s.write_all(b"info registers -a\n").ok()?;
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        // Until the monitor has said nothing for 500 ms.
        while let Ok(n @ 1..) = s.read(&mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&out);
        let field = |line: &str, key: &str| line.split(key).nth(1).and_then(|r| r.split(' ').next()).map(str::to_string);
        let (mut lines, mut cpu, mut rsp) = (String::new(), None, None);
        for line in text.lines().map(|l| l.trim_start_matches(|c: char| c.is_control() || c == '[' || c == 'K')) {
            if let Some(n) = line.strip_prefix("CPU#") {
                cpu = n.split_whitespace().next().map(str::to_string);
            }
            rsp = field(line, "RSP=").or(rsp);
            if let (Some(c), Some(rip)) = (&cpu, field(line, "RIP=")) {
                let halted = field(line, "HLT=").unwrap_or_default();
                lines.push_str(&format!(
                    "  vcpu {c}: rip=0x{} rsp=0x{} halted={halted}\n",
                    rip.trim_start_matches('0'),
                    rsp.as_deref().unwrap_or("?").trim_start_matches('0')
                ));
            }
        }
        (!lines.is_empty()).then_some(lines)
    }

    /// Ends the run (if QEMU is still up, it is killed and the outcome is
    /// [`Outcome::TimedOut`] with the time it ran) and returns what it said.
    pub fn stop(mut self) -> Captured {
        let outcome = match self.child.0.try_wait() {
            Ok(Some(status)) => Outcome::from_status(status),
            _ => {
                terminate(&mut self.child.0);
                Outcome::TimedOut(self.start.elapsed())
            }
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let qemu_stderr = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        Captured {
            outcome,
            serial: self.serial(),
            qemu_stderr,
            elapsed: self.start.elapsed(),
            command_line: self.command_line.clone(),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The kernel wrote [`EXIT_SUCCESS`]; QEMU exited with 33.
    Success,
    /// The kernel wrote [`EXIT_FAILURE`]; QEMU exited with 35.
    Failure,
    /// QEMU exited with 0: the guest reset or shut down without writing to
    /// the exit port (a triple fault does this under `-no-reboot`), or the
    /// user quit an interactive run with Ctrl-A X.
    Reset,
    /// The run outlived its timeout and QEMU was killed.
    TimedOut(Duration),
    /// Any other exit status (QEMU's own errors are 1).
    QemuExit(i32),
    /// QEMU died of this signal, not sent by us.
    QemuSignal(i32),
}

impl Outcome {
    /// Maps QEMU's exit status code.
    pub fn from_exit_code(code: i32) -> Outcome {
        match code {
            0 => Outcome::Reset,
            c if c == debug_exit_status(EXIT_SUCCESS) => Outcome::Success,
            c if c == debug_exit_status(EXIT_FAILURE) => Outcome::Failure,
            c => Outcome::QemuExit(c),
        }
    }

    /// Maps QEMU's exit status.
    pub fn from_status(status: ExitStatus) -> Outcome {
        if let Some(code) = status.code() {
            return Outcome::from_exit_code(code);
        }
        #[cfg(unix)]
        if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
            return Outcome::QemuSignal(signal);
        }
        Outcome::QemuExit(-1)
    }

    pub fn is_success(&self) -> bool {
        *self == Outcome::Success
    }
}

/// QEMU's exit status when the guest writes `value` to isa-debug-exit.
pub const fn debug_exit_status(value: u8) -> i32 {
    ((value as i32) << 1) | 1
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Outcome::Success => write!(f, "the kernel reported success ({EXIT_SUCCESS:#04x})"),
            Outcome::Failure => write!(f, "the kernel reported failure ({EXIT_FAILURE:#04x})"),
            Outcome::Reset => f.write_str("the guest reset without reporting a result (triple fault?)"),
            Outcome::TimedOut(t) => write!(f, "QEMU timed out after {}", seconds(t)),
            Outcome::QemuExit(1) => f.write_str(
                "QEMU exited with status 1: QEMU itself failed (see its messages), \
                 or the kernel wrote 0x00 to the isa-debug-exit port",
            ),
            Outcome::QemuExit(c) if c > 1 && c % 2 == 1 && c < 512 => write!(
                f,
                "QEMU exited with status {c}: the kernel wrote {:#04x} to the isa-debug-exit port, \
                 which is neither success ({EXIT_SUCCESS:#04x}) nor failure ({EXIT_FAILURE:#04x})",
                c >> 1
            ),
            Outcome::QemuExit(c) => write!(f, "QEMU exited with status {c}"),
            Outcome::QemuSignal(s) => write!(f, "QEMU was killed by signal {s}"),
        }
    }
}

fn seconds(t: Duration) -> String {
    if t.subsec_nanos() == 0 { format!("{} s", t.as_secs()) } else { format!("{:.3} s", t.as_secs_f64()) }
}

/// Why QEMU could not be run at all.
#[derive(Debug)]
pub enum RunError {
    /// Bad settings or a bad kernel word.
    Invalid(String),
    /// `qemu-system-x86_64` is not on `PATH`.
    QemuNotFound,
    /// Starting QEMU failed for another reason.
    Spawn(io::Error),
    /// Waiting for QEMU failed.
    Io(io::Error),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Invalid(msg) => f.write_str(msg),
            RunError::QemuNotFound => write!(
                f,
                "{QEMU_BIN} is not installed: run `make deps` (or any make target that boots, \
                 such as `make run`), or install the qemu-system-x86 package"
            ),
            RunError::Spawn(e) => write!(f, "could not start {QEMU_BIN}: {e}"),
            RunError::Io(e) => write!(f, "waiting for {QEMU_BIN} failed: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Checks one kernel command line word: `KEY=VALUE`, the key letters, digits
/// and `_`, the value printable ASCII without spaces (the kernel splits the
/// line at whitespace). What the keys and values mean is the kernel's business.
pub fn check_word(word: &str) -> Result<(), String> {
    let Some((key, value)) = word.split_once('=') else {
        return Err(format!("kernel argument {word:?} is not KEY=VALUE"));
    };
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("kernel argument {word:?}: the key must be letters, digits and _"));
    }
    if !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!("kernel argument {word:?}: the value must be printable ASCII without spaces"));
    }
    Ok(())
}

/// Escapes a value for QEMU's `key=value,key=value` option syntax, where a
/// comma inside a value is written as two.
pub fn qemu_escape(value: &str) -> String {
    value.replace(',', ",,")
}

/// Quotes `s` for a POSIX shell if it needs it.
pub fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !s.is_empty() && s.chars().all(plain) { s.to_string() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

/// Kills and reaps QEMU if we leave early (a panic on this thread), so that no
/// QEMU outlives its run.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            terminate(&mut self.0);
        }
    }
}

fn spawn(mut cmd: Command) -> Result<Child, RunError> {
    die_with_parent(&mut cmd);
    cmd.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => RunError::QemuNotFound,
        _ => RunError::Spawn(e),
    })
}

/// Reads a pipe to its end on a thread, as (lossy) UTF-8.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Like [`drain`], and types `keys.bytes` into `stdin` once the output
/// contains `keys.after`.
fn drain_and_type<R: Read + Send + 'static>(
    pipe: Option<R>,
    keys: Keys,
    mut stdin: std::process::ChildStdin,
) -> thread::JoinHandle<String> {
    use std::io::Write;
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut typed = false;
        if let Some(mut pipe) = pipe {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                bytes.extend_from_slice(&chunk[..n]);
                if !typed && String::from_utf8_lossy(&bytes).contains(&keys.after) {
                    typed = true;
                    let _ = stdin.write_all(&keys.bytes).and_then(|()| stdin.flush());
                }
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for QEMU, killing it at the timeout.
fn wait(child: &mut Child, timeout: Option<Duration>) -> io::Result<Outcome> {
    let start = Instant::now();
    let mut nap = Duration::from_millis(2);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Outcome::from_status(status));
        }
        if let Some(limit) = timeout {
            let elapsed = start.elapsed();
            if elapsed >= limit {
                terminate(child);
                return Ok(Outcome::TimedOut(limit));
            }
            nap = nap.min(limit - elapsed);
        }
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(50));
    }
}

/// Stops QEMU and reaps it: SIGTERM first, so that an interactive QEMU puts
/// the terminal back out of raw mode, then SIGKILL if it is still there.
fn terminate(child: &mut Child) {
    #[cfg(unix)]
    {
        // SAFETY: `kill` has no memory-safety preconditions; the pid is our
        // unreaped child, so it cannot have been reused.
        unsafe { sys::kill(child.id() as i32, sys::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// On Linux, asks the kernel to send QEMU SIGTERM when the thread that
/// started it dies, so that a killed test run or runner leaves no QEMU behind.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as i32;
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe system calls (prctl, getppid); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if sys::prctl(sys::PR_SET_PDEATHSIG, sys::SIGTERM as std::ffi::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if sys::getppid() != parent {
                return Err(io::Error::from_raw_os_error(sys::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

#[cfg(unix)]
mod sys {
    use std::ffi::c_int;
    pub const SIGTERM: c_int = 15;
    #[cfg(target_os = "linux")]
    pub const PR_SET_PDEATHSIG: c_int = 1;
    #[cfg(target_os = "linux")]
    pub const ESRCH: i32 = 3;
    unsafe extern "C" {
        pub fn kill(pid: c_int, sig: c_int) -> c_int;
        #[cfg(target_os = "linux")]
        pub fn prctl(option: c_int, ...) -> c_int;
        #[cfg(target_os = "linux")]
        pub fn getppid() -> c_int;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_between_reads_survives() {
        let dash = "—".as_bytes(); // 3 bytes
        let mut pending = b"scene ".to_vec();
        pending.push(dash[0]);
        assert_eq!(take_utf8(&mut pending), "scene ");
        pending.extend_from_slice(&dash[1..]);
        pending.extend_from_slice(b" x\xff");
        assert_eq!(take_utf8(&mut pending), "— x\u{fffd}");
        assert!(pending.is_empty());
    }

    /// Whether `args` holds the words `seq` in a row.
    fn has<const N: usize>(args: &[String], seq: [&str; N]) -> bool {
        args.windows(N).any(|w| w.iter().zip(seq).all(|(a, b)| a == b))
    }

    #[test]
    fn default_command_line() {
        let q = Qemu::new(4);
        let a = q.qemu_args(Console::Captured);
        assert!(has(&a, ["-machine", "q35"]));
        assert!(has(&a, ["-cpu", "max"]));
        assert!(has(&a, ["-m", "2048M"]));
        assert!(has(&a, ["-smp", "4"]));
        assert!(has(&a, ["-accel", "tcg,thread=multi"]));
        assert!(has(&a, ["-display", "none"]));
        assert!(has(&a, ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]));
        assert!(has(&a, ["-serial", "stdio"]));
        assert!(a.contains(&"-no-reboot".to_string()));
        assert!(a.contains(&format!("format=raw,snapshot=on,file={}", bios_image().display())));
        // No words, no fw_cfg file: QEMU rejects an empty string.
        assert!(!a.contains(&"-fw_cfg".to_string()));
        assert!(!a.contains(&"-icount".to_string()));
        assert!(!a.contains(&"-S".to_string()));
    }

    #[test]
    fn network_card_always_and_forwards_on_request() {
        let a = Qemu::new(1).qemu_args(Console::Captured);
        assert!(has(&a, ["-netdev", "user,id=n0"]));
        assert!(has(&a, ["-device", "virtio-net-pci,netdev=n0,romfile="]));
        let mut q = Qemu::new(1);
        q.forwards = vec![Forward::tcp(8080, HTTP_GUEST_PORT), Forward::udp(7777, ECHO_GUEST_PORT)];
        let a = q.qemu_args(Console::Captured);
        assert!(has(&a, ["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:127.0.0.1:7777-:7"]));
        q.forwards.push(Forward::tcp(8080, 81));
        assert!(q.check().is_err());
        q.forwards = vec![Forward::tcp(0, 80)];
        assert!(q.check().is_err());
    }

    #[test]
    fn trace_adds_com2_and_the_godebug_setting() {
        let mut q = Qemu::new(2).args(["PROG=spawn"]);
        q.trace("/tmp/t.bin");
        assert_eq!(q.kernel_cmdline(), "PROG=spawn GODEBUG=trace=1");
        let a = q.qemu_args(Console::Captured);
        assert!(has(&a, ["-serial", "stdio"]));
        assert!(has(&a, ["-serial", "file:/tmp/t.bin"]));
        let mut q = Qemu::new(2).args(["GODEBUG=schedtrace=100"]);
        q.trace("/tmp/t.bin");
        assert_eq!(q.kernel_cmdline(), "GODEBUG=schedtrace=100,trace=1");
    }

    #[test]
    fn a_linux_peer_on_a_tap_device_in_a_namespace_keeps_the_machine() {
        let mut q = Qemu::new(4);
        q.linux = Some(LinuxBoot { kernel: "/k".into(), initrd: "/i".into(), append: "console=ttyS0".into() });
        q.tap = Some("tap0".into());
        q.netns = Some("ns".into());
        let a = q.qemu_args(Console::Captured);
        assert!(has(&a, ["-machine", "q35", "-cpu", "max"]) && has(&a, ["-smp", "4"]));
        assert!(has(&a, ["-kernel", "/k", "-initrd", "/i", "-append", "console=ttyS0"]));
        assert!(!a.iter().any(|w| w == "-drive"), "no disk image for a Linux boot: {a:?}");
        assert!(has(&a, ["-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no"]));
        assert!(q.command_line(Console::Captured).starts_with("ip netns exec ns qemu-system-x86_64 "));
        q.forwards = vec![Forward::tcp(8080, 80)];
        assert!(q.check().is_err(), "forwards need user networking");
    }

    #[test]
    fn interactive_console_is_multiplexed_with_the_monitor() {
        let a = Qemu::new(1).qemu_args(Console::Interactive);
        assert!(has(&a, ["-serial", "mon:stdio"]));
    }

    #[test]
    fn fw_cfg_doubles_commas() {
        let q = Qemu::new(2).args(["PROG=demo", "GODEBUG=schedtrace=100,scheddetail=1"]);
        let a = q.qemu_args(Console::Captured);
        assert!(has(
            &a,
            ["-fw_cfg", "name=opt/gmpos/cmdline,string=PROG=demo GODEBUG=schedtrace=100,,scheddetail=1"]
        ));
        assert_eq!(q.kernel_cmdline(), "PROG=demo GODEBUG=schedtrace=100,scheddetail=1");
    }

    #[test]
    fn icount_uses_single_threaded_tcg() {
        let mut q = Qemu::new(1);
        q.icount = true;
        let a = q.qemu_args(Console::Captured);
        assert!(has(&a, ["-accel", "tcg,thread=single"]));
        assert!(has(&a, ["-icount", "shift=0,sleep=off"]));
        assert!(!a.contains(&"tcg,thread=multi".to_string()));
        assert_eq!(q.describe(), "1 vCPU (TCG, icount)");
    }

    #[test]
    fn kvm_and_gdb_and_memory() {
        let mut q = Qemu::new(8);
        q.accel = Accel::Kvm;
        q.gdb = true;
        q.mem_mib = 512;
        let a = q.qemu_args(Console::Interactive);
        assert!(has(&a, ["-accel", "kvm"]));
        assert!(has(&a, ["-s", "-S"]));
        assert!(has(&a, ["-m", "512M"]));
        assert_eq!(q.describe(), "8 vCPUs (KVM)");
    }

    #[test]
    fn check_rejects_bad_settings() {
        assert!(Qemu::new(1).check().is_ok());
        assert!(Qemu::new(64).check().is_ok());
        assert!(Qemu::new(0).check().is_err());
        assert!(Qemu::new(65).check().is_err());
        let mut q = Qemu::new(1);
        q.icount = true;
        q.accel = Accel::Kvm;
        assert!(q.check().is_err());
        assert!(Qemu::new(1).args(["PROG"]).check().is_err());
    }

    #[test]
    fn words() {
        assert!(check_word("PROG=demo").is_ok());
        assert!(check_word("GODEBUG=schedtrace=100,scheddetail=1").is_ok());
        assert!(check_word("N=").is_ok());
        assert!(check_word("demo").is_err());
        assert!(check_word("=demo").is_err());
        assert!(check_word("PR OG=demo").is_err());
        assert!(check_word("PROG=a b").is_err());
        assert!(check_word("PROG=a\tb").is_err());
        assert!(check_word("PROG=é").is_err());
    }

    #[test]
    fn exit_codes() {
        assert_eq!(debug_exit_status(EXIT_SUCCESS), 33);
        assert_eq!(debug_exit_status(EXIT_FAILURE), 35);
        assert_eq!(Outcome::from_exit_code(33), Outcome::Success);
        assert_eq!(Outcome::from_exit_code(35), Outcome::Failure);
        assert_eq!(Outcome::from_exit_code(0), Outcome::Reset);
        assert_eq!(Outcome::from_exit_code(1), Outcome::QemuExit(1));
        assert_eq!(Outcome::from_exit_code(37), Outcome::QemuExit(37));
        assert!(Outcome::from_exit_code(33).is_success());
        assert!(!Outcome::from_exit_code(0).is_success());
    }

    #[test]
    fn outcome_messages() {
        assert_eq!(Outcome::Reset.to_string(), "the guest reset without reporting a result (triple fault?)");
        assert_eq!(Outcome::TimedOut(Duration::from_secs(120)).to_string(), "QEMU timed out after 120 s");
        assert!(Outcome::QemuExit(37).to_string().contains("0x12"));
        assert!(Outcome::QemuExit(2).to_string().contains("status 2"));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("-smp"), "-smp");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(qemu_escape("a,b,,c"), "a,,b,,,,c");
    }

    #[cfg(unix)]
    #[test]
    fn wait_kills_at_the_timeout() {
        let mut child = Command::new("sleep").arg("30").spawn().expect("sleep");
        let start = Instant::now();
        let outcome = wait(&mut child, Some(Duration::from_millis(200))).unwrap();
        assert_eq!(outcome, Outcome::TimedOut(Duration::from_millis(200)));
        assert!(start.elapsed() < Duration::from_secs(10));
        // Reaped: there is no process left to wait for.
        assert!(child.try_wait().unwrap().is_some());
    }

    #[cfg(unix)]
    #[test]
    fn wait_maps_the_exit_status() {
        let mut child = Command::new("sh").args(["-c", "exit 35"]).spawn().expect("sh");
        assert_eq!(wait(&mut child, Some(Duration::from_secs(30))).unwrap(), Outcome::Failure);
    }
}
