//! Device drivers. They hand events to the runtime; they never call programs.

pub mod fw_cfg;
pub mod serial;
