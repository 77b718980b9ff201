fn main() { println!("{}", env!("GMPOS_BIOS_IMAGE")); }
