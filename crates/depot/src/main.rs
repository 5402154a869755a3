use clap::Parser;

/// jemalloc rather than the system's malloc: cheaper per request, and it touches only the
/// first page of a buffer that is mostly unused (hyper's 8 KiB per connection), where glibc's
/// chunk headers touch both ends (bench/README.md, 10,000 slow readers).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
