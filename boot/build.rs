//! Turns the kernel ELF into a BIOS disk image with the `bootloader` crate.
//! The image's path reaches the runner as `GMPOS_BIOS_IMAGE`, the kernel's
//! ELF (for gdb) as `GMPOS_KERNEL_ELF`.
use bootloader::BootConfig;
use std::path::PathBuf;

fn main() {
    let kernel = PathBuf::from(std::env::var_os("CARGO_BIN_FILE_KERNEL_kernel").expect("kernel artifact"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("gmpos-bios.img");
    // The bootloader logs every stage on the serial port; keep only its
    // warnings so that the console starts with the kernel's own lines.
    let mut config = BootConfig::default();
    config.log_level = bootloader_boot_config::LevelFilter::Warn;
    config.frame_buffer_logging = false;
    bootloader::BiosBoot::new(&kernel)
        .set_boot_config(&config)
        .create_disk_image(&out)
        .expect("could not create the BIOS disk image");
    println!("cargo:rustc-env=GMPOS_BIOS_IMAGE={}", out.display());
    println!("cargo:rustc-env=GMPOS_KERNEL_ELF={}", kernel.display());
}
