//! Prints the typed form of every response in a transcript file.
//! `cargo run -p imaplib-proto --example decode_file -- FILE`

use imaplib_proto::types::decode_response;
use imaplib_proto::{Framer, Limits, Response};

fn main() {
    let path = std::env::args().nth(1).expect("usage: decode_file FILE");
    let bytes = std::fs::read(&path).expect("readable file");
    let mut framer = Framer::new(Limits::default());
    framer.feed(&bytes);
    while let Ok(Some(frame)) = framer.next_frame() {
        let resp = Response::parse(frame);
        println!("{:#?}", decode_response(&resp));
    }
}
