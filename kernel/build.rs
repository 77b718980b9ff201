//! Links the kernel with `unwind.ld`, which gives the unwinder (the
//! `unwinding` crate, for `recover`) the symbols that rust-lld does not
//! define: where the code ends and where the `.eh_frame_hdr` table is;
//! and where the code starts, for the watchdog's stack scan.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg=-T{dir}/unwind.ld");
    println!("cargo:rerun-if-changed=unwind.ld");
}
