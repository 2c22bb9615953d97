#pragma once
// OpenCV's image codecs (cv::imdecode), loaded on the first compressed frame rather than at start.
//
// Why: Debian builds libopencv_imgcodecs against GDAL, GDCM, Poppler, libheif and more, and loading it costs
// about 40 MiB of resident memory (GDCM builds its DICOM dictionaries at load) and most of the host's start-up
// time. Pipelines that send raw or shared-memory frames, the common gRPC set-up, never need it.

#include <opencv2/core/mat.hpp>

#include <stdexcept>

namespace ava::frames {

// The host's installation is broken (not the client's frame): answered as a server error.
class CodecUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Decodes like cv::imdecode(encoded, flags). Loads the codec library on first use (thread-safe; a failed
// load is retried on the next call). Throws CodecUnavailable if the library cannot be loaded, cv::Exception from
// OpenCV itself.
cv::Mat imdecode(const cv::Mat& encoded, int flags);

// Loads the codec library now, so the first compressed frame does not pay for it (e.g. once a stream says
// it will send JPEG). Never throws: a failure is reported by the next imdecode().
void preload_image_codecs() noexcept;

} // namespace ava::frames
