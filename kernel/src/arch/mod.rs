//! The hardware layer. gmpos runs on x86_64 only.

mod x86_64;
pub use self::x86_64::*;
