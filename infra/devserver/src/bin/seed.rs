//! Fills a data directory for the scale benchmark (`devserver::seed`) and prints the
//! chat session's id: `seed DATA_DIR INQUIRIES MESSAGES CHAT_USER`.

use devserver::seed::{seed, Seed};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, inquiries, messages, user] = args.as_slice() else {
        anyhow::bail!("usage: seed DATA_DIR INQUIRIES MESSAGES CHAT_USER");
    };
    let plan = Seed {
        inquiries: inquiries.parse()?,
        messages: messages.parse()?,
        chat_user: user.clone(),
    };
    let session = seed(std::path::Path::new(dir), &plan).await?;
    println!("{session}");
    Ok(())
}
