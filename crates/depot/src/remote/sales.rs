//! `depot sales`: which payment-provider price gives which group for how long, and what
//! became of the events the providers sent.

use clap::Subcommand;
use depot_api::{Items, SaleEventQuery, SaleEventView, SalePriceView, SetSalePrice};
use reqwest::Method;
use serde::de::IgnoredAny;
use serde_json::json;

use crate::client::Api;
use crate::output::{Output, show, table};

#[derive(Debug, Subcommand)]
pub enum SalesCommand {
    /// Map a provider's price (or product, or Stripe Payment Link) to a group and a term;
    /// events that named it before are applied now.
    #[command(
        after_help = "Examples:\n  depot sales map --provider stripe --price price_1Pro --group 9 --term subscription\n  depot sales map --provider paddle --price pri_01hv --group 9 --term 12m"
    )]
    Map {
        /// `stripe` or `paddle`.
        #[arg(long)]
        provider: String,
        /// Stripe `price_…`, `prod_…` or `plink_…`; Paddle `pri_…` or `pro_…`.
        #[arg(long)]
        price: String,
        /// The group a sale gives.
        #[arg(long)]
        group: i64,
        /// `subscription` (as long as it is paid), `lifetime`, days (`30d`), months (`12m`) or
        /// years (`1y`).
        #[arg(long, default_value = "subscription")]
        term: String,
    },
    /// Remove a mapping; memberships already made stay.
    Unmap {
        /// `stripe` or `paddle`.
        #[arg(long)]
        provider: String,
        /// The mapped id.
        #[arg(long)]
        price: String,
    },
    /// Every mapping.
    Prices,
    /// The latest provider events and what became of them.
    #[command(after_help = "Example:\n  depot sales events --outcome unknown_price")]
    Events {
        /// Only `applied`, `waiting`, `unknown_price`, `ignored` or `processing` events.
        #[arg(long)]
        outcome: Option<String>,
        /// The most events to show, newest first.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

pub async fn sales(api: &Api, out: &Output, cmd: SalesCommand) -> anyhow::Result<()> {
    match cmd {
        SalesCommand::Map {
            provider,
            price,
            group,
            term,
        } => {
            let p: SalePriceView = api
                .send(
                    Method::PUT,
                    &["sales", "prices", &provider, &price],
                    &SetSalePrice { group, term },
                )
                .await?;
            show(out, &p, |p| {
                outln!(
                    "{} {} now gives group {} ({})",
                    p.provider,
                    p.price,
                    p.group,
                    p.term
                )
            });
        }
        SalesCommand::Unmap { provider, price } => {
            let _: IgnoredAny = api
                .act(Method::DELETE, &["sales", "prices", &provider, &price])
                .await?;
            show(out, &json!({"removed": price}), |_| {
                outln!("{provider} {price} is no longer mapped")
            });
        }
        SalesCommand::Prices => {
            let v: Items<SalePriceView> = api.get(&["sales", "prices"]).await?;
            show(out, &v, |v| {
                table(
                    &["PROVIDER", "PRICE", "GROUP", "TERM"],
                    v.items
                        .iter()
                        .map(|p| {
                            let group = match &p.group_name {
                                Some(name) => format!("{} ({name})", p.group),
                                None => p.group.to_string(),
                            };
                            vec![p.provider.clone(), p.price.clone(), group, p.term.clone()]
                        })
                        .collect(),
                )
            });
        }
        SalesCommand::Events { outcome, limit } => {
            let query = SaleEventQuery {
                outcome,
                limit: Some(limit),
            };
            let v: Items<SaleEventView> = api.get_with(&["sales", "events"], &query).await?;
            show(out, &v, |v| {
                table(
                    &["RECEIVED", "PROVIDER", "EVENT", "TYPE", "OUTCOME", "DETAIL"],
                    v.items
                        .iter()
                        .map(|e| {
                            vec![
                                e.received_at.clone(),
                                e.provider.clone(),
                                e.id.clone(),
                                e.kind.clone(),
                                e.outcome.clone(),
                                e.detail.clone(),
                            ]
                        })
                        .collect(),
                )
            });
        }
    }
    Ok(())
}
