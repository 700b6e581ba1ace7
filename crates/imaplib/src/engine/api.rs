//! The public methods both clients have, listed once.
