use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = depot::cli::Cli::parse();
    match depot::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(depot::exit::code(&e))
        }
    }
}
