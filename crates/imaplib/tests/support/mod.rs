//! Test support: scripted servers and a throwaway Dovecot.
#![allow(dead_code)]

pub mod dovecot;
pub mod scripted;
