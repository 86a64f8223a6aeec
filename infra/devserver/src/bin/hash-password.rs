//! Prints the argon2id hash of a password read from standard input, for an
//! `ADMIN_USERS` entry: `echo -n 'secret' | cargo run -p devserver --bin hash-password`.

use std::io::Read;

fn main() -> std::io::Result<()> {
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        eprintln!("usage: echo -n 'password' | hash-password");
        std::process::exit(2);
    }
    println!("{}", backend_core::app::auth::hash_password(password));
    Ok(())
}
