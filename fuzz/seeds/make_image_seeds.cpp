// Writes the small image seeds of fuzz/corpus/ from the OpenCV sample images (opencv-doc): real JPEG (baseline,
// progressive, grayscale), PNG (RGB, RGBA, gray, 16-bit, palette-free) and BMP (24, 32 bit, gray) files of a
// few KB. Built and run by fuzz/seeds/make_seeds.sh; the output is committed, so this runs only to refresh it.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <opencv data dir> <out dir>\n", argv[0]);
        return 2;
    }
    const std::string in = argv[1], out = argv[2];
    auto load = [&](const char* name, int w, int h, int flags = cv::IMREAD_COLOR) {
        cv::Mat m = cv::imread(in + "/" + name, flags), small;
        cv::resize(m, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
        return small;
    };
    auto write = [&](const std::string& name, const cv::Mat& m, std::vector<int> params = {}) {
        if (!cv::imwrite(out + "/" + name, m, params)) {
            std::fprintf(stderr, "cannot write %s\n", name.c_str());
            std::exit(1);
        }
    };
    write("messi.jpg", load("messi5.jpg", 64, 40), {cv::IMWRITE_JPEG_QUALITY, 80});
    write("baboon_progressive.jpg", load("baboon.jpg", 32, 32), {cv::IMWRITE_JPEG_PROGRESSIVE, 1, cv::IMWRITE_JPEG_QUALITY, 70});
    write("fruits_gray.jpg", load("fruits.jpg", 40, 30, cv::IMREAD_GRAYSCALE), {cv::IMWRITE_JPEG_QUALITY, 75});
    write("fruits_420.jpg", load("fruits.jpg", 33, 17), {cv::IMWRITE_JPEG_QUALITY, 60, cv::IMWRITE_JPEG_OPTIMIZE, 1});
    write("logo_rgba.png", load("opencv-logo.png", 24, 24, cv::IMREAD_UNCHANGED));
    write("gradient_gray.png", load("gradient.png", 24, 24, cv::IMREAD_GRAYSCALE));
    cv::Mat sixteen;
    load("chessboard.png", 16, 16).convertTo(sixteen, CV_16UC3, 256.0);
    write("chess16.png", sixteen);
    write("fruits.png", load("fruits.jpg", 20, 15), {cv::IMWRITE_PNG_COMPRESSION, 9});
    write("fruits24.bmp", load("fruits.jpg", 17, 12));
    write("chess_gray.bmp", load("chessboard.png", 16, 16, cv::IMREAD_GRAYSCALE));
    cv::Mat bgra;
    cv::cvtColor(load("opencv-logo.png", 12, 12), bgra, cv::COLOR_BGR2BGRA);
    write("logo32.bmp", bgra);
    return 0;
}
