// A C++ training runtime's use of qat-kernels: a 2-layer MLP with float32
// master weights learns a teacher network's outputs with quantization-aware
// training, then exports its weights as integer codes and rebuilds them.
//
// - Layer 1 (1024 x 128): asymmetric per group, 4 bits, groups of 64, a
//   learned scale and offset per group (LSQ+). Layer 2 (16 x 1024):
//   symmetric per channel, 8 bits, a learned scale per row (LSQ).
// - The library reads and writes the float32 weights and gradients as they
//   are (the _dtype forms with QAT_DTYPE_F32): no conversion pass, and the
//   scale and offset gradients come back in float32.
// - Scales and offsets are kept in float32 by the runtime and passed as their
//   bfloat16 rounding; their gradients get LSQ's factor 1 / sqrt(n * Qp).
// - One call runs across the runtime's thread pool (qat_set_thread_pool):
//   two adapters below, OpenMP and a std::thread pool. The program trains
//   three times, without a pool and with each adapter, and checks that every
//   bit of the result is the same.
// - Export: each weight's integer code (uint8 per group, int8 per channel);
//   the rebuilt float32 weights are the fake-quantized ones, bit for bit, and
//   so are the rebuilt model's outputs.
//
//   make -C c_tests test      (builds and runs it; or see the Makefile's rule)

#include <omp.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "qat_kernels.h"

namespace {

// --- errors: a refused call's status, argument and rule --------------------

thread_local qat_refusal last_refusal{};

extern "C" void keep_refusal(const qat_refusal *refusal) { last_refusal = *refusal; }

// Throws with the library's words ("bit is outside 2..=8") for a refused call.
void check(int32_t status, const char *what) {
    if (status == QAT_OK) return;
    char detail[128];
    qat_refusal_message(&last_refusal, detail, sizeof detail);
    throw std::runtime_error(std::string(what) + ": " + detail + " (" + qat_status_message(status) + ")");
}

// --- two thread-pool adapters ----------------------------------------------

// OpenMP: the loop over the tasks is the parallel region. Called from
// inside one (a call made by a task of the runtime's own), it runs them here.
extern "C" void openmp_parallel_for(void *, size_t count, qat_task task, void *context) {
    if (omp_in_parallel()) {
        for (size_t i = 0; i < count; i++) task(context, i);
        return;
    }
    const long n = static_cast<long>(count);
#pragma omp parallel for schedule(dynamic, 1)
    for (long i = 0; i < n; i++) task(context, static_cast<size_t>(i));
}

// A std::thread pool: workers sleep on a condition variable between calls;
// the calling thread takes tasks too. A call from one of its own workers
// runs its tasks on that worker.
class ThreadPool {
  public:
    explicit ThreadPool(unsigned threads) {
        for (unsigned t = 1; t < threads; t++) workers_.emplace_back([this] { work(); });
    }
    ~ThreadPool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        for (std::thread &w : workers_) w.join();
    }
    ThreadPool(const ThreadPool &) = delete;
    ThreadPool &operator=(const ThreadPool &) = delete;

    qat_thread_pool c_pool() { return qat_thread_pool{&ThreadPool::parallel_for, this}; }

  private:
    static void parallel_for(void *self, size_t count, qat_task task, void *context) {
        static_cast<ThreadPool *>(self)->run(count, task, context);
    }

    void run(size_t count, qat_task task, void *context) {
        if (in_worker) {
            for (size_t i = 0; i < count; i++) task(context, i);
            return;
        }
        std::lock_guard<std::mutex> one_call(call_);  // calls from several threads take turns
        {
            std::lock_guard<std::mutex> lock(mutex_);
            task_ = task;
            context_ = context;
            count_ = count;
            next_.store(0);
            finished_ = 0;
            generation_++;
        }
        wake_.notify_all();
        take_tasks();
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [this] { return finished_ == workers_.size(); });
    }

    void take_tasks() {
        for (size_t i = next_++; i < count_; i = next_++) task_(context_, i);
    }

    void work() {
        in_worker = true;
        uint64_t seen = 0;
        for (;;) {
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
                if (stop_) return;
                seen = generation_;
            }
            take_tasks();
            {
                std::lock_guard<std::mutex> lock(mutex_);
                finished_++;
            }
            done_.notify_one();
        }
    }

    static thread_local bool in_worker;
    std::vector<std::thread> workers_;
    std::mutex call_, mutex_;
    std::condition_variable wake_, done_;
    qat_task task_ = nullptr;
    void *context_ = nullptr;
    size_t count_ = 0;
    std::atomic<size_t> next_{0};
    size_t finished_ = 0;
    uint64_t generation_ = 0;
    bool stop_ = false;
};

thread_local bool ThreadPool::in_worker = false;

// --- the model ----------------------------------------------------------------

constexpr size_t IN = 128, HIDDEN = 1024, OUT = 16, BATCH = 32;
constexpr size_t GROUP = 64, GROUPS = HIDDEN * IN / GROUP;
constexpr uint32_t BIT1 = 4;                     // layer 1: asymmetric per group
constexpr float MIN_V = -128.0f, MAX_V = 127.0f;  // layer 2: symmetric per channel, 8 bits
constexpr float EPS = 1e-4f, CLIP = 0.99f;

std::vector<qat_bf16> bf16(const std::vector<float> &v) {
    std::vector<qat_bf16> r(v.size());
    for (size_t i = 0; i < v.size(); i++) r[i] = qat_bf16_from_float(v[i]);
    return r;
}

// y[r] = sum_c w[r * cols + c] * x[c], for each of BATCH columns of x (x is
// batch-major: x[b * cols + c]).
void matmul(const std::vector<float> &w, size_t rows, size_t cols, const float *x, float *y) {
    for (size_t b = 0; b < BATCH; b++)
        for (size_t r = 0; r < rows; r++) {
            float sum = 0.0f;
            for (size_t c = 0; c < cols; c++) sum += w[r * cols + c] * x[b * cols + c];
            y[b * rows + r] = sum;
        }
}

struct Model {
    std::vector<float> w1, s1, o1, w2, s2;  // float32 master weights and parameters

    // The fake-quantized weights, from the library.
    void fake_quantize(std::vector<float> &q1, std::vector<float> &q2) const {
        check(qat_asymmetric_per_group_dtype(QAT_DTYPE_F32, w1.data(), bf16(s1).data(), bf16(o1).data(), q1.data(),
                                             w1.size(), GROUP, BIT1, EPS, CLIP),
              "layer 1 forward");
        check(qat_symmetric_per_channel_dtype(QAT_DTYPE_F32, w2.data(), bf16(s2).data(), q2.data(), OUT, HIDDEN, EPS,
                                              MIN_V, MAX_V),
              "layer 2 forward");
    }

    // The outputs for a batch, with weights q1 and q2.
    static void run(const std::vector<float> &q1, const std::vector<float> &q2, const float *x, float *h, float *y) {
        matmul(q1, HIDDEN, IN, x, h);
        for (size_t i = 0; i < BATCH * HIDDEN; i++) h[i] = h[i] > 0.0f ? h[i] : 0.0f;
        matmul(q2, OUT, HIDDEN, h, y);
    }
};

struct Data {
    std::vector<float> x, y;  // BATCH examples each batch, batch after batch
};

// Inputs ~ N(0, 1), targets from a random teacher of the same shape.
Data teacher_data(size_t batches, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> t1(HIDDEN * IN), t2(OUT * HIDDEN), h(BATCH * HIDDEN);
    std::mt19937 teacher(7);
    for (float &v : t1) v = normal(teacher) / std::sqrt(float(IN));
    for (float &v : t2) v = normal(teacher) / std::sqrt(float(HIDDEN));
    Data d{std::vector<float>(batches * BATCH * IN), std::vector<float>(batches * BATCH * OUT)};
    for (float &v : d.x) v = normal(rng);
    for (size_t b = 0; b < batches; b++) Model::run(t1, t2, &d.x[b * BATCH * IN], h.data(), &d.y[b * BATCH * OUT]);
    return d;
}

float mse(const float *a, const float *b, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += double(a[i] - b[i]) * double(a[i] - b[i]);
    return float(sum / double(n));
}

struct Result {
    Model model;
    float first_loss, last_loss;
};

Result train(const Data &data, size_t steps) {
    Model m;
    std::mt19937 init(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    m.w1.resize(HIDDEN * IN);
    m.w2.resize(OUT * HIDDEN);
    for (float &v : m.w1) v = normal(init) / std::sqrt(float(IN));
    for (float &v : m.w2) v = normal(init) / std::sqrt(float(HIDDEN));
    // LSQ's initialisation, as the library computes it (mode 1).
    std::vector<qat_bf16> s1(GROUPS), o1(GROUPS), s2(OUT);
    check(qat_asymmetric_per_group_calibrate_dtype(QAT_DTYPE_F32, m.w1.data(), s1.data(), o1.data(), m.w1.size(),
                                                   GROUP, BIT1, EPS, CLIP, 1),
          "layer 1 calibration");
    check(qat_symmetric_per_channel_calibrate_dtype(QAT_DTYPE_F32, m.w2.data(), s2.data(), OUT, HIDDEN, EPS, MIN_V,
                                                    MAX_V, 1),
          "layer 2 calibration");
    for (qat_bf16 v : s1) m.s1.push_back(qat_bf16_to_float(v));
    for (qat_bf16 v : o1) m.o1.push_back(qat_bf16_to_float(v));
    for (qat_bf16 v : s2) m.s2.push_back(qat_bf16_to_float(v));

    // LSQ's gradient factors 1 / sqrt(n * Qp): n weights per scale.
    const float lsq1 = 1.0f / std::sqrt(float(GROUP) * float(1u << (BIT1 - 1)));
    const float lsq2 = 1.0f / std::sqrt(float(HIDDEN) * MAX_V);
    const float lr = 0.02f;

    std::vector<float> q1(m.w1.size()), q2(m.w2.size()), h(BATCH * HIDDEN), y(BATCH * OUT);
    std::vector<float> dy(BATCH * OUT), dh(BATCH * HIDDEN), dq1(q1.size()), dq2(q2.size());
    std::vector<float> g1(q1.size()), g2(q2.size()), gs1(GROUPS), go1(GROUPS), gs2(OUT);
    const size_t batches = data.x.size() / (BATCH * IN);
    Result r{};
    for (size_t step = 0; step < steps; step++) {
        const float *x = &data.x[(step % batches) * BATCH * IN];
        const float *target = &data.y[(step % batches) * BATCH * OUT];
        m.fake_quantize(q1, q2);
        Model::run(q1, q2, x, h.data(), y.data());
        float loss = mse(y.data(), target, y.size());
        if (step == 0) r.first_loss = loss;
        r.last_loss = loss;
        // d(loss)/d(y), then through layer 2 and the ReLU to layer 1.
        for (size_t i = 0; i < y.size(); i++) dy[i] = 2.0f * (y[i] - target[i]) / float(y.size());
        std::fill(dq2.begin(), dq2.end(), 0.0f);
        std::fill(dh.begin(), dh.end(), 0.0f);
        for (size_t b = 0; b < BATCH; b++)
            for (size_t o = 0; o < OUT; o++) {
                float d = dy[b * OUT + o];
                for (size_t k = 0; k < HIDDEN; k++) {
                    dq2[o * HIDDEN + k] += d * h[b * HIDDEN + k];
                    dh[b * HIDDEN + k] += d * q2[o * HIDDEN + k];
                }
            }
        for (size_t i = 0; i < dh.size(); i++)
            if (h[i] <= 0.0f) dh[i] = 0.0f;
        std::fill(dq1.begin(), dq1.end(), 0.0f);
        for (size_t b = 0; b < BATCH; b++)
            for (size_t k = 0; k < HIDDEN; k++) {
                float d = dh[b * HIDDEN + k];
                if (d == 0.0f) continue;
                for (size_t c = 0; c < IN; c++) dq1[k * IN + c] += d * x[b * IN + c];
            }
        // The quantizers' backward: float32 in, float32 out.
        check(qat_asymmetric_per_group_backward_dtype(QAT_DTYPE_F32, dq1.data(), m.w1.data(), bf16(m.s1).data(),
                                                      bf16(m.o1).data(), g1.data(), gs1.data(), go1.data(),
                                                      m.w1.size(), GROUP, BIT1, EPS, CLIP),
              "layer 1 backward");
        check(qat_symmetric_per_channel_backward_dtype(QAT_DTYPE_F32, dq2.data(), m.w2.data(), bf16(m.s2).data(),
                                                       g2.data(), gs2.data(), OUT, HIDDEN, EPS, MIN_V, MAX_V),
              "layer 2 backward");
        // SGD on the weights, scales and offsets.
        for (size_t i = 0; i < g1.size(); i++) m.w1[i] -= lr * g1[i];
        for (size_t i = 0; i < g2.size(); i++) m.w2[i] -= lr * g2[i];
        for (size_t g = 0; g < GROUPS; g++) {
            m.s1[g] -= lr * lsq1 * gs1[g];
            m.o1[g] -= lr * go1[g];
        }
        for (size_t o = 0; o < OUT; o++) m.s2[o] -= lr * lsq2 * gs2[o];
    }
    r.model = m;
    return r;
}

template <class T>
bool same_bits(const std::vector<T> &a, const std::vector<T> &b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

bool same_model(const Model &a, const Model &b) {
    return same_bits(a.w1, b.w1) && same_bits(a.s1, b.s1) && same_bits(a.o1, b.o1) && same_bits(a.w2, b.w2) &&
           same_bits(a.s2, b.s2);
}

// Counts the tasks a pool runs, to show the calls split.
struct Counted {
    qat_thread_pool inner;
    std::atomic<size_t> calls{0}, tasks{0};
    static void parallel_for(void *self, size_t count, qat_task task, void *context) {
        Counted *c = static_cast<Counted *>(self);
        c->calls++;
        c->tasks += count;
        c->inner.parallel_for(c->inner.pool, count, task, context);
    }
};

}  // namespace

int main() {
    qat_set_refusal_handler(keep_refusal);
    const Data data = teacher_data(64, 1), test = teacher_data(4, 2);
    const size_t steps = 150;

    std::printf("a 128-1024-16 MLP, float32 master weights; layer 1 asymmetric per group (4 bits, groups of %zu), "
                "layer 2 symmetric per channel (8 bits); %zu SGD steps of %zu\n",
                GROUP, steps, BATCH);
    Result plain = train(data, steps);
    std::printf("no pool:            training loss %.5f -> %.5f\n", double(plain.first_loss),
                double(plain.last_loss));

    ThreadPool threads(std::max(2u, std::thread::hardware_concurrency()));
    qat_thread_pool pools[] = {threads.c_pool(), qat_thread_pool{openmp_parallel_for, nullptr}};
    const char *names[] = {"std::thread pool", "OpenMP"};
    for (size_t p = 0; p < 2; p++) {
        Counted counted;
        counted.inner = pools[p];
        qat_thread_pool pool{&Counted::parallel_for, &counted};
        qat_set_thread_pool(&pool);
        Result pooled = train(data, steps);
        qat_set_thread_pool(nullptr);
        std::printf("%-18s  training loss %.5f -> %.5f; %zu calls split into %zu tasks; every bit as without: %s\n",
                    names[p], double(pooled.first_loss), double(pooled.last_loss), counted.calls.load(),
                    counted.tasks.load(), same_model(plain.model, pooled.model) ? "yes" : "NO");
        if (!same_model(plain.model, pooled.model) || counted.tasks.load() == 0) return 1;
    }
    if (!(plain.last_loss < 0.5f * plain.first_loss)) {
        std::fprintf(stderr, "the loss did not halve\n");
        return 1;
    }

    // Export: integer codes, then the weights rebuilt from them.
    const Model &m = plain.model;
    std::vector<qat_bf16> s1 = bf16(m.s1), o1 = bf16(m.o1), s2 = bf16(m.s2);
    std::vector<uint8_t> codes1(m.w1.size());
    std::vector<int8_t> codes2(m.w2.size());
    check(qat_asymmetric_per_group_quantize_dtype(QAT_DTYPE_F32, m.w1.data(), s1.data(), o1.data(), codes1.data(),
                                                  m.w1.size(), GROUP, BIT1, EPS, CLIP),
          "layer 1 export");
    check(qat_symmetric_per_channel_quantize_dtype(QAT_DTYPE_F32, m.w2.data(), s2.data(), codes2.data(), OUT, HIDDEN,
                                                   EPS, MIN_V, MAX_V),
          "layer 2 export");
    std::vector<float> r1(m.w1.size()), r2(m.w2.size()), q1(m.w1.size()), q2(m.w2.size());
    check(qat_asymmetric_per_group_dequantize_dtype(QAT_DTYPE_F32, codes1.data(), s1.data(), o1.data(), r1.data(),
                                                    r1.size(), GROUP, BIT1, EPS, CLIP),
          "layer 1 rebuild");
    check(qat_symmetric_per_channel_dequantize_dtype(QAT_DTYPE_F32, codes2.data(), s2.data(), r2.data(), OUT, HIDDEN,
                                                     EPS, MIN_V, MAX_V),
          "layer 2 rebuild");
    m.fake_quantize(q1, q2);
    std::vector<float> h(BATCH * HIDDEN), y(BATCH * OUT), yr(BATCH * OUT);
    double test_qat = 0.0;
    bool outputs_same = true;
    const size_t batches = test.x.size() / (BATCH * IN);
    for (size_t b = 0; b < batches; b++) {
        Model::run(q1, q2, &test.x[b * BATCH * IN], h.data(), y.data());
        Model::run(r1, r2, &test.x[b * BATCH * IN], h.data(), yr.data());
        outputs_same = outputs_same && same_bits(y, yr);
        test_qat += double(mse(y.data(), &test.y[b * BATCH * OUT], y.size())) / double(batches);
    }
    bool weights_same = same_bits(q1, r1) && same_bits(q2, r2);
    std::printf("export: %zu uint8 codes (4 bits used) and %zu int8 codes; rebuilt weights bit-exact: %s, "
                "outputs bit-exact: %s; test MSE %.5f\n",
                codes1.size(), codes2.size(), weights_same ? "yes" : "NO", outputs_same ? "yes" : "NO", test_qat);

    // A refused call: the status, and the handler's detail.
    try {
        check(qat_symmetric_per_channel_dtype(QAT_DTYPE_F32, m.w2.data(), s2.data(), q2.data(), OUT, HIDDEN, EPS,
                                              MAX_V, MIN_V),
              "a bad range");
        return 1;
    } catch (const std::runtime_error &e) {
        std::printf("refused as expected: %s\n", e.what());
    }
    return weights_same && outputs_same ? 0 : 1;
}
