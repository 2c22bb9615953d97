#include "image_codecs.h"

#include "image_limits.h"

#include <boost/dll/shared_library.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdlib>
#include <string>
#include <system_error>
#include <type_traits>

namespace ava::frames {
namespace {

// The signature comes from OpenCV's own header: a change there fails to compile instead of crashing.
// decltype does not odr-use cv::imdecode, so the host keeps no link-time dependency on the library.
using ImdecodeFn = decltype(static_cast<cv::Mat (*)(cv::InputArray, int)>(&cv::imdecode));
// The Itanium C++ mangling of that declaration: cv::imdecode(cv::_InputArray const&, int).
constexpr const char* imdecode_symbol = "_ZN2cv8imdecodeERKNS_11_InputArrayEi";

class CodecLibrary {
public:
    CodecLibrary()
    {
        try {
            // By soname (set by CMake from the OpenCV we compiled against): the dynamic loader finds the
            // same library the headers describe.
            library_.load(AVA_OPENCV_IMGCODECS_SONAME, boost::dll::load_mode::search_system_folders |
                                                           boost::dll::load_mode::rtld_now);
            imdecode_ = library_.get<std::remove_pointer_t<ImdecodeFn>>(imdecode_symbol);
        } catch (const std::system_error& e) {
            throw CodecUnavailable(std::string("cannot load OpenCV's image codecs (" AVA_OPENCV_IMGCODECS_SONAME "): ") +
                             e.what());
        }
    }

    cv::Mat decode(const cv::Mat& encoded, int flags) const { return imdecode_(encoded, flags); }

private:
    boost::dll::shared_library library_;
    ImdecodeFn imdecode_ = nullptr;
};

// OpenCV's own size check, a second layer behind frame_decoder's: imgcodecs reads these variables once,
// when the library is loaded, and refuses (cv::Exception) an image over them before allocating its pixels.
// Set during static initialisation: before any thread exists (setenv races with getenv) and before a
// plugin linked against imgcodecs could load it. A value the operator set is kept (overwrite = 0).
const struct CodecLimits {
    CodecLimits() noexcept
    {
        ::setenv("OPENCV_IO_MAX_IMAGE_WIDTH", std::to_string(max_dimension).c_str(), 0);
        ::setenv("OPENCV_IO_MAX_IMAGE_HEIGHT", std::to_string(max_dimension).c_str(), 0);
        ::setenv("OPENCV_IO_MAX_IMAGE_PIXELS", std::to_string(max_pixels).c_str(), 0);
    }
} codec_limits;

// Immutable once built; C++ guarantees one thread builds it and a throwing constructor is retried next time.
const CodecLibrary& codecs()
{
    static const CodecLibrary library;
    return library;
}

} // namespace

cv::Mat imdecode(const cv::Mat& encoded, int flags)
{
    return codecs().decode(encoded, flags);
}

void preload_image_codecs() noexcept
{
    try {
        codecs();
    } catch (const std::exception&) {
        // imdecode() reports it, on the frame that needs it.
    }
}

} // namespace ava::frames
