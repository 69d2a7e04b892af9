//! The ledger in the database follows the pure ledger model: random sequences of adjustments,
//! top-up credits, holds, releases and captures, some run several at once, leave each database
//! with the balance, available balance and ledger entries the model gives, after every step.

use std::sync::Arc;

use domain::ledger::{Balances, EntryKind, LedgerError, MAX_BALANCE, Movement};
use domain::page::Page;
use domain::wallet::Adjustment;
use domain::{Cents, Id};
use proptest::prelude::*;
use store::testing::{TestDatabase, backends, move_wallet, organization, wallet};
use store::{Store, StoreError, SystemClock};

#[derive(Clone, Debug)]
enum Op {
    Adjust(i64),
    TopUp(i64),
    Hold(i64),
    /// Releases one of the open holds, chosen by the number.
    Release(usize),
    /// Captures a percentage (up to 120: more than held is refused) of one of the open holds.
    Capture(usize, i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (-3000i64..3000).prop_filter("an adjustment is never zero", |a| *a != 0).prop_map(Op::Adjust),
        (1i64..3000).prop_map(Op::TopUp),
        (0i64..3000).prop_map(Op::Hold),
        any::<usize>().prop_map(Op::Release),
        (any::<usize>(), 0i64..=120).prop_map(|(hold, percent)| Op::Capture(hold, percent)),
    ]
}

/// One entry as the model and the database both show it.
type Entry = (EntryKind, Cents, Cents, Option<String>);

/// A step's operation made concrete: the movement, its reference, and the open hold it ends.
#[derive(Clone, Debug)]
struct Planned {
    movement: Movement,
    reference: Option<String>,
    ends_hold: Option<usize>,
}

#[derive(Clone, Debug, Default)]
struct Model {
    wallet: Balances,
    /// Holds by slot; `None` once ended.
    holds: Vec<Option<Cents>>,
    entries: Vec<Entry>,
}

impl Model {
    /// The step's operations as movements; operations run together end different holds, and
    /// one that finds no open hold releases more than any wallet holds, which is refused.
    fn plan(&self, step: usize, ops: &[Op]) -> Vec<Planned> {
        let mut open: Vec<usize> = (0..self.holds.len()).filter(|slot| self.holds[*slot].is_some()).collect();
        let mut take = |choice: usize| (!open.is_empty()).then(|| open.remove(choice % open.len()));
        ops.iter()
            .enumerate()
            .map(|(i, op)| {
                let reference = Some(format!("step {step} op {i}"));
                let (movement, ends_hold) = match *op {
                    Op::Adjust(amount) => (Movement::Adjust(Cents(amount)), None),
                    Op::TopUp(amount) => (Movement::TopUp(Cents(amount)), None),
                    Op::Hold(amount) => (Movement::Hold(Cents(amount)), None),
                    Op::Release(choice) => match take(choice) {
                        Some(slot) => (Movement::Release(self.holds[slot].unwrap()), Some(slot)),
                        None => (Movement::Release(MAX_BALANCE), None),
                    },
                    Op::Capture(choice, percent) => match take(choice) {
                        Some(slot) => {
                            let held = self.holds[slot].unwrap();
                            (Movement::Capture { held, captured: Cents(held.0 * percent / 100) }, Some(slot))
                        }
                        None => (Movement::Release(MAX_BALANCE), None),
                    },
                };
                Planned { movement, reference, ends_hold }
            })
            .collect()
    }

    fn apply(&mut self, planned: &Planned) -> Result<(), LedgerError> {
        self.wallet = self.wallet.apply(planned.movement)?;
        if let Some((kind, amount)) = planned.movement.entry() {
            self.entries.push((kind, amount, self.wallet.balance, planned.reference.clone()));
        }
        match planned.movement {
            Movement::Hold(amount) => self.holds.push(Some(amount)),
            Movement::Release(_) | Movement::Capture { .. } => {
                if let Some(slot) = planned.ends_hold {
                    self.holds[slot] = None;
                }
            }
            Movement::Adjust(_) | Movement::TopUp(_) => {}
        }
        Ok(())
    }
}

fn orders(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut all = Vec::new();
    for shorter in orders(n - 1) {
        for at in 0..=shorter.len() {
            let mut order = shorter.clone();
            order.insert(at, n - 1);
            all.push(order);
        }
    }
    all
}

async fn run(store: &Store, org: Id, wallet: Id, planned: Planned) -> Result<(), LedgerError> {
    let outcome = match planned.movement {
        // Adjustments go through their public use case.
        Movement::Adjust(amount) => {
            let adjustment = Adjustment { amount, reason: planned.reference.unwrap() };
            store.adjust_wallet(org, wallet, &adjustment).await.map(|_| ())
        }
        _ => move_wallet(store, org, wallet, planned.movement, planned.reference).await.map(|_| ()),
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(StoreError::Ledger(refused)) => Err(refused),
        Err(e) => panic!("{e}"),
    }
}

async fn stored(store: &Store, org: Id, wallet: Id) -> (Balances, Vec<Entry>) {
    let balances = store.wallet(org, wallet).await.unwrap().balances();
    let mut entries: Vec<Entry> = store
        .wallet_transactions(org, wallet, Page { limit: 1000, page: 1 })
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.amount, e.balance_after, e.reference))
        .collect();
    entries.reverse();
    assert_eq!(store.ledger_sum(wallet).await.unwrap(), balances.balance, "the balance is the sum of the entries");
    assert!(balances.is_valid(), "{balances:?}");
    (balances, entries)
}

async fn follow_the_model(store: &Store, steps: &[Vec<Op>]) {
    let org = organization(store, "Ledger").await.id;
    let wallet = wallet(store, org).await.id;
    let mut model = Model::default();
    for (step, ops) in steps.iter().enumerate() {
        let planned = model.plan(step, ops);
        let tasks: Vec<_> = planned
            .iter()
            .map(|p| {
                let (store, p) = (store.clone(), p.clone());
                tokio::spawn(async move { run(&store, org, wallet, p).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        let (balances, entries) = stored(store, org, wallet).await;
        // Run at once, they applied in some order: the model in that order says the same.
        let matching = orders(planned.len()).into_iter().find_map(|order| {
            let mut next = model.clone();
            let same_outcomes = order.iter().all(|&i| next.apply(&planned[i]) == outcomes[i]);
            (same_outcomes && next.wallet == balances && next.entries == entries).then_some(next)
        });
        model =
            matching.unwrap_or_else(|| panic!("{:?}: no order of {planned:?} from {model:?} gives {outcomes:?}, {balances:?}, {entries:?}", store.backend()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn the_databases_follow_the_ledger_model(steps in proptest::collection::vec(proptest::collection::vec(op(), 1..=4), 1..12)) {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            for backend in backends() {
                let db = TestDatabase::fresh(backend).await;
                let store = Store::connect(&db.url, Arc::new(SystemClock)).await.unwrap();
                follow_the_model(&store, &steps).await;
                store.close().await;
                db.remove().await;
            }
        });
    }
}
