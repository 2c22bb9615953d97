#pragma once
// The frames ava-plugin-check feeds a plugin: built-in synthetic pictures (a gradient with shapes, noise in
// rows with padding, odd sizes, a flat frame, a 1x1 frame) and the user's images, each in every pixel format
// the ABI defines.

#include <ava_plugin.h>

#include <opencv2/core/mat.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace ava::plugin_check {

// A picture in BGR, before conversion to a stream's pixel format.
struct Picture {
    std::string name;
    cv::Mat bgr;
    bool padded = false;   // deliver with a stride longer than the row
    bool edge_case = false; // tiny: the plugin may refuse it (INVALID_ARGUMENT or UNSUPPORTED), not fail on it
};

std::vector<Picture> built_in_pictures();
// Throws std::runtime_error when the file cannot be decoded.
Picture load_picture(const std::filesystem::path& file);

// The pixel formats the ABI defines, and their names.
const std::vector<ava_pixel_format>& all_pixel_formats();
std::string format_name(ava_pixel_format format);

// The picture's pixels in `format` (with padding when asked); the Mat owns them.
cv::Mat in_format(const Picture& picture, ava_pixel_format format);

} // namespace ava::plugin_check
