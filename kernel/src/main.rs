#![no_std]
#![no_main]

use bootloader_api::{entry_point, BootInfo, BootloaderConfig, config::Mapping};
use core::fmt::Write;

pub static BOOTLOADER_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config.kernel_stack_size = 256 * 1024;
    config
};
entry_point!(kmain, config = &BOOTLOADER_CONFIG);

fn kmain(_boot: &'static mut BootInfo) -> ! {
    let mut s = unsafe { uart_16550::SerialPort::new(0x3f8) };
    s.init();
    let _ = writeln!(s, "hello from gmpos");
    unsafe { x86_64::instructions::port::Port::<u32>::new(0xf4).write(0x10) };
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! { loop {} }
