//! Turns the kernel ELF into a BIOS disk image with the `bootloader` crate.
//! The image's path reaches the runner as `GMPOS_BIOS_IMAGE`, the kernel's
//! ELF (for gdb) as `GMPOS_KERNEL_ELF`.
//!
//! The image holds the kernel *without* its debug information and symbol
//! table: the BIOS stage reads the whole file through int 13h, which is
//! slow under emulation, and the debug sections are most of the file
//! (about 14.5 MB of 15). Nothing in the kernel reads them: its panic messages and the
//! goroutine dump's "created by" lines come from `#[track_caller]`
//! locations, which live in `.rodata`. The full ELF stays where cargo put
//! it, for gdb (`make gdb`, `make bench-profile`).
use bootloader::BootConfig;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let kernel = PathBuf::from(std::env::var_os("CARGO_BIN_FILE_KERNEL_kernel").expect("kernel artifact"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let stripped = out_dir.join("kernel-stripped");
    strip(&kernel, &stripped);
    let out = out_dir.join("gmpos-bios.img");
    // The bootloader logs every stage on the serial port; keep only its
    // warnings so that the console starts with the kernel's own lines.
    let mut config = BootConfig::default();
    config.log_level = bootloader_boot_config::LevelFilter::Warn;
    config.frame_buffer_logging = false;
    bootloader::BiosBoot::new(&stripped)
        .set_boot_config(&config)
        .create_disk_image(&out)
        .expect("could not create the BIOS disk image");
    println!("cargo:rustc-env=GMPOS_BIOS_IMAGE={}", out.display());
    println!("cargo:rustc-env=GMPOS_KERNEL_ELF={}", kernel.display());
}

/// Copies `kernel` to `to` without its debug sections and symbol table
/// (about half a megabyte; the kernel never reads its own symbols: the
/// unwinder that `recover` uses reads `.eh_frame`, which stays), with the
/// `llvm-objcopy` of the toolchain's `llvm-tools` component (named in
/// rust-toolchain.toml).
fn strip(kernel: &Path, to: &Path) {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let host = std::env::var("HOST").expect("HOST");
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("could not run rustc --print sysroot");
    let sysroot = String::from_utf8(sysroot.stdout).expect("sysroot is UTF-8");
    let objcopy = Path::new(sysroot.trim()).join("lib/rustlib").join(host).join("bin/llvm-objcopy");
    let status = Command::new(&objcopy)
        .arg("--strip-all")
        .arg(kernel)
        .arg(to)
        .status()
        .unwrap_or_else(|e| panic!("could not run {} (rustup component llvm-tools): {e}", objcopy.display()));
    assert!(status.success(), "{} --strip-all failed: {status}", objcopy.display());
}
