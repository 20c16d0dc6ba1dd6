// Rust names for the demangling test: the time goes to a method of a
// generic struct in a module, called through a generic function.
// Usage: rusthot [MILLISECONDS] (default 1000).
use std::time::{Duration, Instant};

mod imaging {
    pub struct Kernel<T> {
        state: T,
    }

    impl Kernel<u64> {
        pub fn new(seed: u64) -> Self {
            Kernel { state: seed }
        }

        #[inline(never)]
        pub fn convolve(&mut self, rounds: u64) -> u64 {
            for i in 0..rounds {
                // Volatile: the loop is the work, not to be folded away.
                let s = unsafe { std::ptr::read_volatile(&self.state) };
                let s = s.wrapping_mul(6364136223846793005).wrapping_add(i);
                unsafe { std::ptr::write_volatile(&mut self.state, s) };
            }
            self.state
        }
    }

    #[inline(never)]
    pub fn run_pass<T>(k: &mut Kernel<u64>, rounds: u64, _tag: T) -> u64 {
        k.convolve(rounds).wrapping_add(1)
    }
}

fn main() {
    let ms: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let t0 = Instant::now();
    let mut k = imaging::Kernel::new(1);
    let mut sum = 0u64;
    while t0.elapsed() < Duration::from_millis(ms) {
        sum = sum.wrapping_add(imaging::run_pass(&mut k, 100000, 0u8));
    }
    println!("rusthot: {}", sum & 1);
}
