//! Test support: scripted servers, test certificates and a throwaway Dovecot.
#![allow(dead_code)]

pub mod both;
pub mod certs;
pub mod dovecot;
pub mod proxies;
pub mod scripted;
