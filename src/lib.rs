//! Host build of the kernel's pure logic, for unit, thread and loom tests.
