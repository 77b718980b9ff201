//! QEMU's firmware configuration device (fw_cfg), read through its I/O
//! ports: the host hands the kernel its command line as the fw_cfg file
//! `opt/gmpos/cmdline` (`-fw_cfg name=opt/gmpos/cmdline,string=...`).

use alloc::string::String;
use alloc::vec;

use x86_64::instructions::port::Port;

const SELECTOR: u16 = 0x510;
const DATA: u16 = 0x511;
const FILE_DIR: u16 = 0x19;
const SIGNATURE: u16 = 0x00;

fn select(key: u16) {
    // SAFETY: 0x510 is fw_cfg's selector port on QEMU's PC machines.
    unsafe { Port::<u16>::new(SELECTOR).write(key) };
}

fn read(buf: &mut [u8]) {
    let mut data = Port::<u8>::new(DATA);
    for b in buf {
        // SAFETY: 0x511 is fw_cfg's data port; reading it streams the
        // selected item.
        *b = unsafe { data.read() };
    }
}

fn read_be32() -> u32 {
    let mut b = [0; 4];
    read(&mut b);
    u32::from_be_bytes(b)
}

/// The contents of fw_cfg file `name`, or `None` if there is no such file
/// (or no fw_cfg device).
pub fn read_file(name: &str) -> Option<String> {
    select(SIGNATURE);
    let mut signature = [0; 4];
    read(&mut signature);
    if &signature != b"QEMU" {
        return None;
    }
    select(FILE_DIR);
    for _ in 0..read_be32() {
        // Directory entry: size (BE32), select (BE16), reserved, name[56].
        let mut entry = [0u8; 64];
        read(&mut entry);
        let size = u32::from_be_bytes(entry[0..4].try_into().unwrap()) as usize;
        let key = u16::from_be_bytes(entry[4..6].try_into().unwrap());
        let entry_name = &entry[8..];
        let len = entry_name.iter().position(|&c| c == 0).unwrap_or(entry_name.len());
        if &entry_name[..len] == name.as_bytes() {
            select(key);
            let mut contents = vec![0; size];
            read(&mut contents);
            return Some(String::from_utf8_lossy(&contents).into_owned());
        }
    }
    None
}
