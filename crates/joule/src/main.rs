//! The `joule` binary: parses the command line and wires the crates together. No logic lives
//! here beyond choosing what to run.

mod serve;
mod settings;
mod tls;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "joule", version, about = "Joule: an EV charging backend with wallet-paid sessions")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the REST API (and, on the same port, the OCPP endpoint).
    Serve(settings::ServeArgs),
    /// Print a commented example configuration file.
    DefaultConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => serve::run(settings::Settings::load(&args)?).await,
        Command::DefaultConfig => {
            print!("{}", settings::EXAMPLE);
            Ok(())
        }
    }
}
