package org.coedge.jmh;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.coedge.kernels.ConvParams;

/**
 * One convolution layer shape of a zoo model, named so that the name alone says the shape and can be passed as a JMH
 * parameter: {@code <model>_<kind>_<H>x<W>x<Cin>[_<Cout>][_s<stride>]} where kind is {@code c3} (3x3, pad 1),
 * {@code c1} (1x1, no pad) or {@code dw} (3x3 depthwise, pad 1, Cout = Cin). Examples: {@code r18_c3_56x56x64_64},
 * {@code r18_c1_56x56x64_128_s2}, {@code mv2_dw_112x112x96_s2}.
 * <p>
 * Also gives the GEMM a convolution lowers to (per group: M = outH * outW, N = Cout / groups,
 * K = kH * kW * Cin / groups) and the flops of one forward pass. Immutable.
 */
public final class ConvLayerShape
{
    private static final Pattern NAME =
        Pattern.compile("([a-z0-9]+)_(c1|c3|dw)_(\\d+)x(\\d+)x(\\d+)(?:_(\\d+))?(?:_s(\\d+))?");

    private final String name;
    private final int inH;
    private final int inW;
    private final int inC;
    private final int outC;
    private final int kernel;
    private final int stride;
    private final int groups;
    private final ConvParams params;

    private ConvLayerShape(
        final String name, final int inH, final int inW, final int inC, final int outC, final int kernel,
        final int stride, final int groups)
    {
        this.name = name;
        this.inH = inH;
        this.inW = inW;
        this.inC = inC;
        this.outC = outC;
        this.kernel = kernel;
        this.stride = stride;
        this.groups = groups;
        final int pad = kernel / 2;
        this.params = ConvParams.conv(inC, outC, kernel, kernel)
            .stride(stride, stride)
            .pads(pad, pad, pad, pad)
            .groups(groups)
            .build();
    }

    /**
     * @param name a layer name as described in the class comment.
     * @return the shape it names.
     * @throws IllegalArgumentException if the name does not follow the pattern.
     */
    public static ConvLayerShape parse(final String name)
    {
        final Matcher m = NAME.matcher(name);
        if (!m.matches())
        {
            throw new IllegalArgumentException("layer '" + name + "' is not <model>_<c1|c3|dw>_<H>x<W>x<Cin>" +
                "[_<Cout>][_s<stride>], e.g. r18_c3_56x56x64_64");
        }
        final String kind = m.group(2);
        final int h = Integer.parseInt(m.group(3));
        final int w = Integer.parseInt(m.group(4));
        final int cin = Integer.parseInt(m.group(5));
        final int stride = m.group(7) == null ? 1 : Integer.parseInt(m.group(7));
        final boolean depthwise = "dw".equals(kind);
        if (depthwise == (m.group(6) != null))
        {
            throw new IllegalArgumentException("layer '" + name + "': " +
                (depthwise ? "a depthwise layer has no output channel count" : "give the output channel count"));
        }
        final int cout = depthwise ? cin : Integer.parseInt(m.group(6));
        final int kernel = "c1".equals(kind) ? 1 : 3;
        return new ConvLayerShape(name, h, w, cin, cout, kernel, stride, depthwise ? cin : 1);
    }

    public String name()
    {
        return name;
    }

    public ConvParams params()
    {
        return params;
    }

    public int inH()
    {
        return inH;
    }

    public int inW()
    {
        return inW;
    }

    public int inC()
    {
        return inC;
    }

    public int outC()
    {
        return outC;
    }

    public int outH()
    {
        return params.outputHeight(inH);
    }

    public int outW()
    {
        return params.outputWidth(inW);
    }

    public int kernel()
    {
        return kernel;
    }

    public int stride()
    {
        return stride;
    }

    public int groups()
    {
        return groups;
    }

    public boolean isDepthwise()
    {
        return params.isDepthwise();
    }

    /** @return GEMM rows: output pixels. */
    public int gemmM()
    {
        return outH() * outW();
    }

    /** @return GEMM columns of one group: its output channels. */
    public int gemmN()
    {
        return outC / groups;
    }

    /** @return GEMM depth of one group: kernel taps times its input channels. */
    public int gemmK()
    {
        return kernel * kernel * (inC / groups);
    }

    /** @return floating-point operations of one forward pass (a multiply-add counts 2), bias and activation not counted. */
    public long flops()
    {
        return 2L * gemmM() * gemmN() * gemmK() * groups;
    }

    /** @return weights in ONNX layout {@code [Cout, Cin / groups, kH, kW]}: this many floats. */
    public int weightFloats()
    {
        return outC * gemmK();
    }

    @Override
    public String toString()
    {
        return name + " (" + inH + "x" + inW + "x" + inC + " -> " + outH() + "x" + outW() + "x" + outC + ", " +
            kernel + "x" + kernel + " s" + stride + (groups > 1 ? " g" + groups : "") + ")";
    }
}
