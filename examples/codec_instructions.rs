//! The driver behind BENCHMARKS.md's instruction counts for the codec (section
//! "Embedded-instance decoding"): `N` decodes of one file, of one kind, and nothing else, so
//! that `valgrind --tool=callgrind` can count the instructions of one decode as the difference
//! between two runs (N = 21 and N = 1, divided by 20: start-up, reading the file and the
//! allocator's warm-up cancel).
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-codec cargo build --release --example codec_instructions
//! scripts/codec_instructions.sh    # both kinds, both files, the table BENCHMARKS.md records
//! ```
//!
//! Usage: `codec_instructions raw|typed FILE N`. `raw` is the bench's `raw_events` (every
//! event of quick-xml's reader, configured as the decoder configures it, read and dropped);
//! `typed` is `AllocationSettingData::decode`, its result dropped inside the loop.

use std::hint::black_box;

use poolcheck::codec::{event_reader, AllocationSettingData};
use quick_xml::events::Event;

/// As `benches/codec.rs` counts them.
fn raw_events(text: &str) -> usize {
    let mut reader = event_reader(text);
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return events,
            Ok(_) => events += 1,
            Err(e) => panic!("input is not XML: {e}"),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, file, n] = args.as_slice() else {
        eprintln!("usage: codec_instructions raw|typed FILE N");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(file).expect("the input reads");
    let n: usize = n.parse().expect("N is a number");
    let mut sink = 0usize;
    for _ in 0..n {
        match kind.as_str() {
            "raw" => sink += raw_events(black_box(&text)),
            "typed" => {
                let view = AllocationSettingData::decode(black_box(&text)).expect("an allocation");
                sink += black_box(&view).other.len();
            }
            _ => {
                eprintln!("kind is raw or typed");
                std::process::exit(2);
            }
        }
    }
    black_box(sink);
}
