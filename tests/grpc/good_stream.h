#pragma once
// GoodStream: a well-behaved gRPC stream running beside a test, to prove that whatever the test does to
// its own stream (or the host), other streams keep working and lose nothing.

#include "host_process.h"
#include "stream_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

namespace ava::test {

// Embedded BGR24 frames to color_intensity, one at a time,
// alternating black and white; every reply checked, so a lost, repeated or wrong ack is an error.
class GoodStream {
public:
    explicit GoodStream(std::uint16_t port) : worker_([this, port] { run(port); })
    {
        EXPECT_TRUE(eventually([this] { return acked_.load() >= 3; })) << "the good stream did not get going";
    }
    GoodStream(const GoodStream&) = delete;
    GoodStream& operator=(const GoodStream&) = delete;
    ~GoodStream() { stop(); }

    // A few more frames after whatever the test did, then a clean end; checks that nothing was lost.
    void stop()
    {
        if (!worker_.joinable()) {
            return;
        }
        const int seen = acked_.load();
        EXPECT_TRUE(eventually([&] { return acked_.load() >= seen + 3; })) << "the good stream stalled";
        stop_ = true;
        worker_.join();
        EXPECT_EQ(error_, "");
        EXPECT_TRUE(status_.ok()) << status_.error_code() << ": " << status_.error_message();
        EXPECT_EQ(acked_.load(), sent_.load()) << "the good stream lost frames";
    }

private:
    void run(std::uint16_t port)
    {
        StreamClient client(make_channel(port), {}, std::chrono::seconds(120));
        DescriptorSpec spec;
        spec.pipeline = "good-neighbour";
        MediaStreamMessage reply;
        if (!client.send(descriptor_message(spec)) || !client.read(reply)) {
            error_ = "handshake failed";
            status_ = client.finish();
            return;
        }
        const std::string black = solid_raw_frame(64, 48, 64 * 3, {0, 0, 0});
        const std::string white = solid_raw_frame(64, 48, 64 * 3, {255, 255, 255});
        for (std::uint64_t i = 0; !stop_; ++i) {
            ++sent_;
            if (!client.send(embedded_sample(2 + i, i, i % 2 == 0 ? black : white)) || !client.read(reply)) {
                error_ = "stream broke after " + std::to_string(i) + " frames";
                break;
            }
            if (reply.ack_sequence_number() != 2 + i || intensity_of(reply) != (i % 2 == 0 ? "dark" : "light")) {
                error_ = "wrong reply to frame " + std::to_string(i);
                break;
            }
            ++acked_;
        }
        client.writes_done();
        status_ = client.drain_and_finish();
    }

    std::atomic<int> sent_{0};
    std::atomic<int> acked_{0};
    std::atomic<bool> stop_{false};
    std::string error_;
    grpc::Status status_;
    std::thread worker_;
};

} // namespace ava::test
