//! The `mote` command-line tool.

use clap::{Parser, Subcommand};

/// Train, quantise and export neural networks for microcontrollers.
#[derive(Parser)]
#[command(name = "mote", version = mote_trainer::VERSION, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the digest of mote-core's arithmetic that a device build must reproduce.
    Conformance {
        /// Rounds of arithmetic folded into the digest.
        #[arg(long, default_value_t = mote_core::conformance::DEFAULT_ROUNDS)]
        rounds: u32,
    },
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Conformance { rounds } => {
            println!("{:08x}", mote_core::conformance::digest(rounds));
        }
    }
}
