//! Names for the kernel's code addresses in what it printed: every
//! `rip=0x...` or `ret=0x...` of a console line (the watchdog's `core N:
//! rip=...` samples and the return addresses of each core's stack, a
//! fault's report) gets the function it is in (for a return address, the
//! function of the call before it), with the functions
//! inlined into it, and the source line, read from the kernel ELF's debug
//! information (the ELF of the image that ran: [`kernel_elf`](crate::kernel_elf),
//! or a copy taken with the image; loaded at [`KERNEL_LOAD_OFFSET`]) by
//! binutils' `addr2line`. The boot image itself carries no symbols (it is
//! stripped to boot fast).

use std::path::Path;
use std::process::Command;

use crate::KERNEL_LOAD_OFFSET;

/// `serial` with ` in FUNCTION (FILE:LINE)` after every kernel `rip=0x...`
/// or `ret=0x...` that the debug information of `elf` (the kernel that printed it) names;
/// unchanged where it names none, or if `addr2line` cannot be run.
pub fn symbolize(serial: &str, elf: &Path) -> String {
    let addrs: Vec<u64> = serial.lines().filter_map(code_address).collect();
    if addrs.is_empty() {
        return serial.to_string();
    }
    let names = resolve(elf, &addrs).unwrap_or_default();
    let mut out = String::with_capacity(serial.len());
    for line in serial.lines() {
        out.push_str(line);
        if let Some(name) = code_address(line).and_then(|a| names.iter().find(|(b, _)| *b == a)).map(|(_, n)| n) {
            out.push_str(" in ");
            out.push_str(name);
        }
        out.push('\n');
    }
    out
}

/// The kernel address to name for `line`, if it has one: the address
/// after `rip=0x`, or one before the address after `ret=0x` (a return
/// address is one past its call, which may end a function or an inlined
/// call: the call is what was running).
fn code_address(line: &str) -> Option<u64> {
    let (hex, back) = match line.split_once("rip=0x") {
        Some((_, hex)) => (hex, 0),
        None => (line.split_once("ret=0x")?.1, 1),
    };
    let end = hex.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(hex.len());
    let addr = u64::from_str_radix(&hex[..end], 16).ok().filter(|&a| a >= KERNEL_LOAD_OFFSET)?;
    Some(addr - back)
}

/// `addr2line -a -f -i -C` on the kernel ELF: for each address, the
/// functions (innermost first, then each one it was inlined into) and the
/// source line of the outermost.
fn resolve(elf: &Path, addrs: &[u64]) -> Option<Vec<(u64, String)>> {
    let out = Command::new("addr2line")
        .args(["-a", "-f", "-i", "-C", "-e"])
        .arg(elf)
        .args(addrs.iter().map(|a| format!("{:#x}", a - KERNEL_LOAD_OFFSET)))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut names = Vec::new();
    // Groups: an address line, then function / file:line pairs.
    let mut lines = text.lines().peekable();
    while let Some(addr) = lines.next() {
        let addr = u64::from_str_radix(addr.trim_start_matches("0x"), 16).ok()? + KERNEL_LOAD_OFFSET;
        let mut frames = Vec::new();
        while let Some(f) = lines.next_if(|l| !l.starts_with("0x")) {
            frames.push((f.to_string(), lines.next().unwrap_or("??:0").to_string()));
        }
        let Some((_, place)) = frames.last().filter(|(f, _)| f != "??") else { continue };
        let place = place.rsplit_once("/kernel/src/").map_or(place.clone(), |(_, p)| format!("kernel/src/{p}"));
        let funcs: Vec<&str> = frames.iter().map(|(f, _)| f.as_str()).collect();
        names.push((addr, format!("{} ({place})", funcs.join(" < "))));
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_kernel_addresses_are_read_and_returns_name_their_call() {
        assert_eq!(code_address("  core 1: rip=0x100000ebeb2 rsp=0x280017a3e78 if=0"), Some(0x100000ebeb2));
        assert_eq!(code_address("    interrupted at rip=0x100000ebeb2"), Some(0x100000ebeb2));
        assert_eq!(code_address("  core 0: rip=(this report, in sysmon's tick)"), None);
        assert_eq!(code_address("rip=0x1234"), None);
        assert_eq!(code_address("    ret=0x100000ebeb2"), Some(0x100000ebeb1));
        assert_eq!(symbolize("no addresses\n", crate::kernel_elf()), "no addresses\n");
    }
}
