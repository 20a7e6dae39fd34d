//! Figure 8: a small Twitter-like application on Vivace, as the paper did
//! with Twissandra. Accounts and tweets are RW objects, follower lists and
//! timelines RMW objects (lists of tweet ids, appended to). The application
//! server is one process in site A with a pool of clients, so that the
//! storage requests of one application request that do not depend on each
//! other (fetching ten tweets, appending to every follower's timeline) run
//! in parallel, as Twissandra's multigets do.

use crate::client::ClientError;
use crate::pool::ClientPool;
use std::time::{Duration, Instant};
use vivace_spec::{Bytes, Command, Op, Ret};

/// Users of the application; each follows the next [`FOLLOWS`].
pub const USERS: usize = 8;
/// How many users each user follows.
pub const FOLLOWS: usize = 3;
/// Tweets a timeline read fetches.
pub const PAGE: usize = 10;

/// The three request types of Figure 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// R1: post a new tweet.
    Post,
    /// R2: read the timeline of one user (their own tweets).
    Userline,
    /// R3: read the timeline of a user's friends.
    Timeline,
}

impl Request {
    /// All three, in the paper's order.
    pub const ALL: [Request; 3] = [Request::Post, Request::Userline, Request::Timeline];
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Request::Post => "R1 post tweet",
            Request::Userline => "R2 user timeline",
            Request::Timeline => "R3 friends timeline",
        }
    }
}

/// The application over a pool of clients; `rw` and `rmw` are the key
/// prefixes of its two containers.
pub struct Twitter {
    pool: ClientPool,
    rw: String,
    rmw: String,
    next_tweet: u64,
}

fn list(v: &Bytes) -> Vec<String> {
    String::from_utf8_lossy(v.as_slice())
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl Twitter {
    /// The application over `pool`.
    pub fn new(pool: ClientPool, rw: &str, rmw: &str) -> Twitter {
        Twitter {
            pool,
            rw: rw.to_string(),
            rmw: rmw.to_string(),
            next_tweet: 0,
        }
    }

    /// Runs storage operations in parallel, one per client of the pool (in
    /// rounds if there are more than clients); the results in order.
    fn parallel(&mut self, ops: Vec<(String, Op)>) -> Result<Vec<Ret>, ClientError> {
        let mut results: Vec<Option<Ret>> = vec![None; ops.len()];
        let mut error = None;
        for (round, chunk) in ops.chunks(self.pool.len()).enumerate() {
            let base = round * self.pool.len();
            let mut left = 0;
            for (i, (key, op)) in chunk.iter().enumerate() {
                match self.pool.start(i, Bytes::from(key.clone()), op.clone()) {
                    Ok(()) => left += 1,
                    Err(e) => error = Some(e),
                }
            }
            // Every started operation is waited for, also after an error,
            // so that the pool's clients are free again.
            while left > 0 {
                for f in self.pool.wait(Duration::from_secs(1))? {
                    left -= 1;
                    match f.result {
                        Ok(r) => results[base + f.client] = Some(r),
                        Err(e) => error = Some(e),
                    }
                }
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(results
                .into_iter()
                .map(|r| r.expect("every operation finished"))
                .collect()),
        }
    }

    fn one(&mut self, key: String, op: Op) -> Result<Ret, ClientError> {
        Ok(self.parallel(vec![(key, op)])?.remove(0))
    }

    fn append(&self, key: String, id: &str) -> (String, Op) {
        (
            key,
            Op::Execute(Command::Append(Bytes::from(format!("{id},")))),
        )
    }

    /// Creates the accounts and the follower lists, and posts two tweets
    /// per user.
    pub fn setup(&mut self) -> Result<(), ClientError> {
        let accounts = (0..USERS)
            .map(|u| {
                (
                    format!("{}user/{u}", self.rw),
                    Op::Write(Bytes::from(format!("name=user{u};bio=a user of the lab"))),
                )
            })
            .collect();
        self.parallel(accounts)?;
        // One round per k, so that no two appends of a round go to the same
        // list (concurrent executes on one object may abort).
        for k in 1..=FOLLOWS {
            let follows = (0..USERS)
                .map(|u| {
                    self.append(
                        format!("{}followers/{}", self.rmw, (u + k) % USERS),
                        &u.to_string(),
                    )
                })
                .collect();
            self.parallel(follows)?;
        }
        for u in 0..USERS {
            for _ in 0..2 {
                self.request(Request::Post, u)?;
            }
        }
        Ok(())
    }

    /// Runs one application request for user `u`.
    pub fn request(&mut self, r: Request, u: usize) -> Result<(), ClientError> {
        let (rw, rmw) = (self.rw.clone(), self.rmw.clone());
        match r {
            Request::Post => {
                let id = format!("{u}-{}", self.next_tweet);
                self.next_tweet += 1;
                let mut body = format!("tweet {id} by user{u}: ");
                body.extend(std::iter::repeat_n('x', 280 - body.len().min(280)));
                // The tweet, the author's own line, and the follower list.
                let res = self.parallel(vec![
                    (format!("{rw}tweet/{id}"), Op::Write(Bytes::from(body))),
                    self.append(format!("{rmw}userline/{u}"), &id),
                    (format!("{rmw}followers/{u}"), Op::Execute(Command::Get)),
                ])?;
                let followers = match &res[2] {
                    Ret::ExecuteOk(v) => list(v),
                    _ => Vec::new(),
                };
                let fan = followers
                    .iter()
                    .map(|f| self.append(format!("{rmw}timeline/{f}"), &id))
                    .collect();
                self.parallel(fan)?;
            }
            Request::Userline | Request::Timeline => {
                let line = if r == Request::Userline {
                    "userline"
                } else {
                    "timeline"
                };
                let ids = match self.one(format!("{rmw}{line}/{u}"), Op::Execute(Command::Get))? {
                    Ret::ExecuteOk(v) => list(&v),
                    _ => Vec::new(),
                };
                let page = ids
                    .iter()
                    .rev()
                    .take(PAGE)
                    .map(|id| (format!("{rw}tweet/{id}"), Op::Read))
                    .collect();
                self.parallel(page)?;
            }
        }
        Ok(())
    }

    /// `n` requests of type `r`, one at a time, for users in turn;
    /// returns the latencies (ms) of those that completed and the count of
    /// those that failed. Stops early when `stop()` says so.
    pub fn run(&mut self, r: Request, n: usize, stop: impl Fn() -> bool) -> (Vec<f64>, usize) {
        let mut lat = Vec::new();
        let mut failed = 0;
        for i in 0..n {
            if stop() {
                break;
            }
            let t = Instant::now();
            match self.request(r, i % USERS) {
                Ok(()) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                Err(_) => failed += 1,
            }
        }
        (lat, failed)
    }
}
