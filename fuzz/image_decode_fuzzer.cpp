// Fuzz target: the image header checks and decoding of ava::frames::decode_image (host/frames/frame_decoder.h)
// for JPEG, PNG and BMP: the size check must refuse what would decode over the pixel limits, a truncated or
// mislabelled image must be refused (FrameError), never half-decoded, and nothing may crash.
// Input: one byte choosing the encoding (0: JPEG, 1: PNG, 2: BMP; modulo 3) and, divided by 3, what the
// analyzer declared (ABI 1.2: nothing, GRAY8 of at least 64x64, at least 100x100, exactly 32x24 RGB24;
// modulo 4: DCT-scaled and gray decodes of hostile JPEGs), then the image bytes.
#include "common/fuzz_env.h"

#include "frames/frame_decoder.h"

#include <cstdint>
#include <span>
#include <string>

namespace {

using ava::frames::ImageEncoding;

using ava::frames::InputRequest;

constexpr std::uint32_t gray = AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_GRAY8);
constexpr std::uint32_t rgb = AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_RGB24);
const InputRequest requests[] = {
    InputRequest{},
    InputRequest{.pixel_formats = gray, .min_width = 64, .min_height = 64},
    InputRequest{.pixel_formats = 0, .min_width = 100, .min_height = 100},
    InputRequest{.pixel_formats = rgb, .min_width = 32, .min_height = 24, .exact_size = true},
};

int channels_of(ava_pixel_format format) { return format == AVA_PIXEL_FORMAT_GRAY8 ? 1 : 3; }

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
    const auto& request = requests[(data[0] / 3) % 4];
    const std::span<const std::uint8_t> bytes(data + 1, size - 1);
    try {
        const auto frame = ava::frames::decode_image(bytes, encoding, nullptr, request);
        AVA_FUZZ_CHECK(!frame.image.empty(), "decode_image returned an empty frame instead of throwing");
        AVA_FUZZ_CHECK(frame.image.cols <= 16384 && frame.image.rows <= 16384 &&
                           static_cast<std::uint64_t>(frame.image.cols) * frame.image.rows <= 64ull * 1024 * 1024,
                       "decoded " + std::to_string(frame.image.cols) + "x" + std::to_string(frame.image.rows) +
                           ": over the documented pixel limits");
        const auto format = ava::frames::delivered_format(AVA_PIXEL_FORMAT_BGR24, request);
        AVA_FUZZ_CHECK(frame.format == format && frame.image.channels() == channels_of(format),
                       "decoded image is not in the format the analyzer declared");
        const auto size = ava::frames::delivered_size({frame.sent_width, frame.sent_height}, request);
        AVA_FUZZ_CHECK(frame.image.cols == static_cast<int>(size.width) && frame.image.rows == static_cast<int>(size.height),
                       "decoded " + std::to_string(frame.image.cols) + "x" + std::to_string(frame.image.rows) +
                           ", not the size the declaration asks for");
        // Touch every pixel the analyzer would read (ASan: the buffer is as large as it claims).
        const auto abi = frame.to_abi();
        volatile std::uint8_t sink = 0;
        for (std::uint32_t y = 0; y < abi.height; y += 7) {
            sink = sink ^ abi.data[static_cast<std::size_t>(y) * abi.stride_bytes +
                                   abi.width * static_cast<std::uint32_t>(channels_of(format)) - 1];
        }
    } catch (const ava::frames::FrameError&) {
        // refused: what the host answers 400 / INVALID_ARGUMENT to
    }
    return 0;
}
