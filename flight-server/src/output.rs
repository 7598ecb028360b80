//! Writing to standard output the way command-line tools should: a reader that goes away
//! (`lienthong demo | head`) ends the program quietly instead of with a panic.

use std::io::{ErrorKind, Write};

/// Writes one line to standard output; exits quietly when the reader has closed the pipe.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_fmt(args).and_then(|()| stdout.write_all(b"\n")) {
        if error.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("lienthong: cannot write to standard output: {error}");
        std::process::exit(1);
    }
}

/// `println!` for the command line: see [`line`].
#[macro_export]
macro_rules! say {
    () => { $crate::output::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::line(format_args!($($arg)*)) };
}
