// Fuzz target: the image header checks and decoding of ava::frames::decode_image (host/frames/frame_decoder.h)
// for JPEG, PNG and BMP: the size check must refuse what would decode over the pixel limits, a truncated or
// mislabelled image must be refused (FrameError), never half-decoded, and nothing may crash.
// Input: one byte choosing the encoding (0: JPEG, 1: PNG, 2: BMP; modulo 3), then the image bytes.
#include "common/fuzz_env.h"

#include "frames/frame_decoder.h"

#include <cstdint>
#include <span>
#include <string>

namespace {

using ava::frames::ImageEncoding;

// decode_image may take a MemoryBudget* (issue 10, item 7): call whichever signature this tree has.
template <typename Bytes>
ava::frames::Frame decode(Bytes bytes, ImageEncoding encoding)
{
    if constexpr (requires { ava::frames::decode_image(bytes, encoding); }) {
        return ava::frames::decode_image(bytes, encoding);
    } else {
        return ava::frames::decode_image(bytes, encoding, nullptr);
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    ava::fuzz::quiet_logs();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1) {
        return 0;
    }
    constexpr ImageEncoding encodings[] = {ImageEncoding::jpeg, ImageEncoding::png, ImageEncoding::bmp};
    const auto encoding = encodings[data[0] % 3];
    const std::span<const std::uint8_t> bytes(data + 1, size - 1);
    try {
        const auto frame = decode(bytes, encoding);
        AVA_FUZZ_CHECK(!frame.image.empty(), "decode_image returned an empty frame instead of throwing");
        AVA_FUZZ_CHECK(frame.image.cols <= 16384 && frame.image.rows <= 16384 &&
                           static_cast<std::uint64_t>(frame.image.cols) * frame.image.rows <= 64ull * 1024 * 1024,
                       "decoded " + std::to_string(frame.image.cols) + "x" + std::to_string(frame.image.rows) +
                           ": over the documented pixel limits");
        AVA_FUZZ_CHECK(frame.format == AVA_PIXEL_FORMAT_BGR24 && frame.image.type() == CV_8UC3,
                       "decoded image is not BGR24");
        // Touch every pixel the analyzer would read (ASan: the buffer is as large as it claims).
        const auto abi = frame.to_abi();
        volatile std::uint8_t sink = 0;
        for (std::uint32_t y = 0; y < abi.height; y += 7) {
            sink = sink ^ abi.data[static_cast<std::size_t>(y) * abi.stride_bytes + abi.width * 3 - 1];
        }
    } catch (const ava::frames::FrameError&) {
        // refused: what the host answers 400 / INVALID_ARGUMENT to
    }
    return 0;
}
