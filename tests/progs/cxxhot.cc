// C++ names for the demangling tests: the time goes to a member function
// of a class template in a namespace, called through a free function
// template. Usage: cxxhot [MILLISECONDS] (default 1000).
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace imaging {

template <typename T> class Kernel {
public:
	explicit Kernel(T seed) : state_(seed) {}
	__attribute__((noinline)) T convolve(int rounds)
	{
		for (int i = 0; i < rounds; i++)
			state_ = state_ * static_cast<T>(6364136223846793005ull) + static_cast<T>(i);
		return state_;
	}

private:
	volatile T state_;
};

template <typename T> __attribute__((noinline)) T run_pass(Kernel<T> &k, int rounds)
{
	return k.convolve(rounds) + 1;
}

} // namespace imaging

int main(int argc, char **argv)
{
	long ms = argc > 1 ? std::atol(argv[1]) : 1000;
	auto t0 = std::chrono::steady_clock::now();
	imaging::Kernel<unsigned long> k(1);
	unsigned long sum = 0;
	while (std::chrono::duration_cast<std::chrono::milliseconds>(
		       std::chrono::steady_clock::now() - t0)
		       .count() < ms)
		sum += imaging::run_pass(k, 100000);
	std::printf("cxxhot: %lu\n", sum & 1);
	return 0;
}
