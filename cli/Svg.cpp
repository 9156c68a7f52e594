//===- cli/Svg.cpp - SVG plots for papers and reports ---------------------===//

#include "cli/Svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace remat::cli {

namespace {

constexpr double Width = 760, Height = 480;
constexpr double Left = 84, Right = 230, Top = 48, Bottom = 64;
constexpr double PlotW = Width - Left - Right, PlotH = Height - Top - Bottom;

/// Colour-blind-safe palette (Okabe & Ito).
constexpr const char *Palette[] = {"#E69F00", "#56B4E9", "#009E73", "#F0E442",
                                   "#0072B2", "#D55E00", "#CC79A7", "#999999"};

std::string escape(llvm::StringRef S) {
  std::string Out;
  for (char Ch : S) {
    if (Ch == '&')
      Out += "&amp;";
    else if (Ch == '<')
      Out += "&lt;";
    else if (Ch == '>')
      Out += "&gt;";
    else if (Ch == '"')
      Out += "&quot;";
    else
      Out += Ch;
  }
  return Out;
}

/// A binary unit that keeps the axis' numbers readable.
struct ByteUnit {
  const char *Name;
  double Scale;
};
ByteUnit byteUnit(double MaxBytes) {
  if (MaxBytes >= 1024.0 * 1024 * 1024)
    return {"GiB", 1024.0 * 1024 * 1024};
  if (MaxBytes >= 1024.0 * 1024)
    return {"MiB", 1024.0 * 1024};
  if (MaxBytes >= 1024.0)
    return {"KiB", 1024.0};
  return {"B", 1};
}

/// A linear axis over [Lo, Hi] with ticks at 1, 2 or 5 times a power of 10.
struct Axis {
  double Lo, Hi, Step;
  Axis(double L, double H) {
    if (H <= L)
      H = L + 1;
    double Raw = (H - L) / 6;
    double Mag = std::pow(10, std::floor(std::log10(Raw)));
    double Norm = Raw / Mag;
    Step = (Norm < 1.5 ? 1 : Norm < 3.5 ? 2 : Norm < 7.5 ? 5 : 10) * Mag;
    Lo = std::floor(L / Step) * Step;
    Hi = std::ceil(H / Step) * Step;
  }
  std::vector<double> ticks() const {
    std::vector<double> T;
    for (double V = Lo; V <= Hi + Step / 1000; V += Step)
      T.push_back(std::abs(V) < Step / 1e6 ? 0 : V);
    return T;
  }
};

std::string tickLabel(double V, double Step) {
  int Digits = Step >= 1 ? 0 : int(std::ceil(-std::log10(Step)));
  return fmt::format("{:.{}f}", V, std::min(Digits, 6));
}

class Canvas {
public:
  Canvas(Axis X, Axis Y) : X(X), Y(Y) {}
  double px(double V) const {
    return Left + (V - X.Lo) / (X.Hi - X.Lo) * PlotW;
  }
  double py(double V) const {
    return Top + PlotH - (V - Y.Lo) / (Y.Hi - Y.Lo) * PlotH;
  }
  void begin(llvm::StringRef Title, llvm::StringRef XLabel,
             llvm::StringRef YLabel);
  std::string finish() { return Out + "</svg>\n"; }
  std::string Out;
  Axis X, Y;
};

void Canvas::begin(llvm::StringRef Title, llvm::StringRef XLabel,
                   llvm::StringRef YLabel) {
  Out += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" "
      "height=\"{1}\" viewBox=\"0 0 {0} {1}\" font-family=\"Helvetica, "
      "Arial, sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      Width, Height);
  Out += fmt::format("<text x=\"{}\" y=\"26\" font-size=\"15\" "
                     "text-anchor=\"middle\">{}</text>\n",
                     Left + PlotW / 2, escape(Title));
  for (double T : X.ticks())
    Out += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" "
        "stroke=\"#e5e5e5\"/><text x=\"{0:.1f}\" y=\"{3}\" "
        "text-anchor=\"middle\">{4}</text>\n",
        px(T), Top, Top + PlotH, Top + PlotH + 16, tickLabel(T, X.Step));
  for (double T : Y.ticks())
    Out += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" "
        "stroke=\"#e5e5e5\"/><text x=\"{3}\" y=\"{4:.1f}\" "
        "text-anchor=\"end\">{5}</text>\n",
        Left, py(T), Left + PlotW, Left - 6, py(T) + 4, tickLabel(T, Y.Step));
  Out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
                     "fill=\"none\" stroke=\"black\"/>\n",
                     Left, Top, PlotW, PlotH);
  Out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}"
                     "</text>\n",
                     Left + PlotW / 2, Height - 18, escape(XLabel));
  Out += fmt::format("<text transform=\"translate(22 {}) rotate(-90)\" "
                     "text-anchor=\"middle\">{}</text>\n",
                     Top + PlotH / 2, escape(YLabel));
}

} // namespace

namespace {
/// The optimal curve: a step down at each breakpoint, flat after the last;
/// the knee circled.
void drawFrontierCurve(Canvas &Cv, const Frontier &F, const ByteUnit &U) {
  std::string Path;
  for (size_t K = 0; K < F.Points.size(); ++K) {
    double X = Cv.px(F.Points[K].BudgetBytes / U.Scale);
    double Y = Cv.py(F.Points[K].Time);
    if (K == 0)
      Path += fmt::format("M{:.1f},{:.1f}", X, Y);
    else
      Path += fmt::format(" H{:.1f} V{:.1f}", X, Y);
  }
  if (F.Points.empty())
    return;
  Path += fmt::format(" H{:.1f}", Left + PlotW);
  Cv.Out += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"#0072B2\" "
                        "stroke-width=\"2\"/>\n",
                        Path);
  const FrontierPoint &K = F.Points[F.Knee];
  Cv.Out +=
      fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"7\" fill=\"none\" "
                  "stroke=\"black\" stroke-width=\"1.5\"/>\n",
                  Cv.px(K.BudgetBytes / U.Scale), Cv.py(K.Time));
}

/// Strategy K's marker at (X, Y): circles for the first palette round,
/// squares for the next.
std::string strategyMarker(size_t K, double X, double Y) {
  const char *Col = Palette[K % std::size(Palette)];
  if ((K / std::size(Palette)) % 2)
    return fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"8\" "
                       "height=\"8\" fill=\"{}\" stroke=\"black\" "
                       "stroke-width=\"0.5\"/>",
                       X - 4, Y - 4, Col);
  return fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4.5\" "
                     "fill=\"{}\" stroke=\"black\" "
                     "stroke-width=\"0.5\"/>",
                     X, Y, Col);
}

/// The strategies' markers, and the legend: the curve, the knee, then one
/// entry per strategy.
void drawFrontierLegend(Canvas &Cv, const Frontier &F, const ByteUnit &U) {
  double LX = Left + PlotW + 16, LY = Top + 8;
  Cv.Out += fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#0072B2\" "
      "stroke-width=\"2\"/><text x=\"{3}\" y=\"{4}\">optimal (frontier)"
      "</text>\n",
      LX, LY, LX + 18, LX + 24, LY + 4);
  LY += 18;
  Cv.Out += fmt::format(
      "<circle cx=\"{}\" cy=\"{}\" r=\"6\" fill=\"none\" stroke=\"black\"/>"
      "<text x=\"{}\" y=\"{}\">knee</text>\n",
      LX + 9, LY, LX + 24, LY + 4);
  for (size_t K = 0; K < F.Strategies.size(); ++K) {
    const StrategyPoint &S = F.Strategies[K];
    Cv.Out +=
        strategyMarker(K, Cv.px(S.PeakBytes / U.Scale), Cv.py(S.Time)) + "\n";
    LY += 18;
    Cv.Out += strategyMarker(K, LX + 9, LY) +
              fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", LX + 24,
                          LY + 4, escape(S.Label));
  }
}
} // namespace

std::string renderFrontierSvg(const Frontier &F, llvm::StringRef Title) {
  double XMin = 0, XMax = 1, YMin = 0, YMax = 1;
  bool Any = false;
  auto Extend = [&](double Xv, double Yv) {
    XMin = Any ? std::min(XMin, Xv) : Xv;
    XMax = Any ? std::max(XMax, Xv) : Xv;
    YMin = Any ? std::min(YMin, Yv) : Yv;
    YMax = Any ? std::max(YMax, Yv) : Yv;
    Any = true;
  };
  for (const FrontierPoint &P : F.Points)
    Extend(double(P.BudgetBytes), P.Time);
  for (const StrategyPoint &S : F.Strategies)
    Extend(double(S.PeakBytes), S.Time);
  ByteUnit U = byteUnit(XMax);
  double XPad = (XMax - XMin) * 0.05 + 1, YPad = (YMax - YMin) * 0.05 + 1e-9;
  Canvas Cv(Axis((XMin - XPad) / U.Scale, (XMax + XPad) / U.Scale),
            Axis(YMin - YPad, YMax + YPad));
  Cv.begin(Title, fmt::format("activation budget ({})", U.Name),
           fmt::format("time per iteration ({})", F.TimeUnit));
  drawFrontierCurve(Cv, F, U);
  drawFrontierLegend(Cv, F, U);
  return Cv.finish();
}

std::string renderMemoryTimelineSvg(const Model &M, const Schedule &S,
                                    const SimResult &Sim,
                                    std::optional<uint64_t> BudgetBytes) {
  const std::vector<TimelinePoint> &TL = Sim.Timeline;
  bool ByTime = !TL.empty() && TL.back().EndTime > 0;
  uint64_t Start = M.isChain() ? M.AsChain->InputBytes : 0;
  double YMax = double(std::max(Sim.PeakBytes, Start));
  if (BudgetBytes)
    YMax = std::max(YMax, double(*BudgetBytes));
  ByteUnit U = byteUnit(YMax);
  double XMax = ByTime ? TL.back().EndTime : double(TL.size());
  Canvas Cv(Axis(0, XMax), Axis(0, YMax * 1.05 / U.Scale));
  std::string Title = fmt::format("{}: {} schedule, peak {:.2f} {}",
                                  M.Name.empty() ? M.Path : M.Name, S.Strategy,
                                  Sim.PeakBytes / U.Scale, U.Name);
  Cv.begin(Title, ByTime ? fmt::format("time ({})", M.TimeUnit) : "op index",
           fmt::format("resident memory ({})", U.Name));
  std::string Path =
      fmt::format("M{:.1f},{:.1f}", Cv.px(0), Cv.py(Start / U.Scale));
  std::string Peaks;
  double PrevX = 0;
  for (size_t K = 0; K < TL.size(); ++K) {
    double X = ByTime ? TL[K].EndTime : double(K + 1);
    double X0 = Cv.px(PrevX), X1 = Cv.px(X);
    Path += fmt::format(" H{:.1f} V{:.1f} H{:.1f} V{:.1f}", X0,
                        Cv.py(TL[K].ResidentBytes / U.Scale), X1,
                        Cv.py(TL[K].AfterBytes / U.Scale));
    if (TL[K].PeakBytes > TL[K].ResidentBytes)
      Peaks += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" "
                           "x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#D55E00\" "
                           "stroke-width=\"1.5\"/>\n",
                           (X0 + X1) / 2, Cv.py(TL[K].ResidentBytes / U.Scale),
                           Cv.py(TL[K].PeakBytes / U.Scale));
    PrevX = X;
  }
  Cv.Out += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"#0072B2\" "
                        "stroke-width=\"1.5\"/>\n",
                        Path);
  Cv.Out += Peaks;
  double LX = Left + PlotW + 16, LY = Top + 8;
  Cv.Out += fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#0072B2\" "
      "stroke-width=\"1.5\"/><text x=\"{3}\" y=\"{4}\">resident</text>\n"
      "<line x1=\"{5}\" y1=\"{6}\" x2=\"{5}\" y2=\"{7}\" stroke=\"#D55E00\" "
      "stroke-width=\"1.5\"/><text x=\"{3}\" y=\"{8}\">op peak "
      "(+ workspace)</text>\n",
      LX, LY, LX + 18, LX + 24, LY + 4, LX + 9, LY + 12, LY + 24, LY + 22);
  if (BudgetBytes) {
    double Y = Cv.py(*BudgetBytes / U.Scale);
    Cv.Out += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" "
        "stroke=\"#CC0000\" stroke-dasharray=\"6 4\"/>\n"
        "<line x1=\"{3}\" y1=\"{4}\" x2=\"{5}\" y2=\"{4}\" stroke=\"#CC0000\" "
        "stroke-dasharray=\"6 4\"/><text x=\"{6}\" y=\"{7}\">budget</text>\n",
        Left, Y, Left + PlotW, LX, LY + 40, LX + 18, LX + 24, LY + 44);
  }
  return Cv.finish();
}

} // namespace remat::cli
