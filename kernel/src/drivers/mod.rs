//! Device drivers. They hand events to the runtime; they never call programs.

pub mod fw_cfg;
pub mod serial;
pub mod virtio_hal;
pub mod virtio_net;
