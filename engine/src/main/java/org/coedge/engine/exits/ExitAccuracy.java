package org.coedge.engine.exits;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.graph.ModelException;

/**
 * Measures each exit's top-1 accuracy on a labelled image set with the engine: one full run of the model per image
 * (which computes every exit), the exit's class is its output's argmax (the first of equal maxima). What
 * {@code coedge exits} runs. Cold path, on the caller's thread (the session's worker threads do the computing).
 */
public final class ExitAccuracy
{
    private ExitAccuracy()
    {
    }

    /**
     * @param model   a model with one runtime input that takes one grey-scale image, dims [1, 1, rows, cols].
     * @param outputs the exits' graph outputs, earliest first; each must be a class vector [1, C] with C above every
     *                label.
     * @param input   {scale, mean, std}: each pixel is fed as {@code (pixel * scale - mean) / std}.
     * @param weights {@link ExitTable#TRAINED} or {@link ExitTable#RANDOM}, recorded in the table.
     * @return the measured exits.
     * @throws ModelException in one line, if the model does not fit the images or an exit is not a class vector.
     */
    public static ExitTable measure(final Model model, final List<String> outputs, final LabelledImages data,
        final double[] input, final int threads, final String weights)
    {
        if (model.inputNames().size() != 1)
        {
            throw new ModelException("the model has inputs " + model.inputNames() + ": measuring exits needs one " +
                "image input");
        }
        final String inputName = model.inputNames().get(0);
        final long[] dims = {1, 1, data.rows(), data.cols()};
        final long[] declared = model.declaredDims(inputName);
        boolean fits = declared.length == dims.length;
        for (int d = 0; fits && d < dims.length; d++)
        {
            fits = declared[d] < 1 || declared[d] == dims[d];
        }
        if (!fits)
        {
            throw new ModelException("model input '" + inputName + "' takes dims " + Arrays.toString(declared) +
                ", the images are " + Arrays.toString(dims));
        }
        if (outputs.isEmpty())
        {
            throw new ModelException("no exits to measure");
        }
        try (Session session = model.newSession(SessionOptions.threads(threads).withInputDims(inputName, dims)))
        {
            final int[] index = new int[outputs.size()];
            final float[][] logits = new float[outputs.size()][];
            final int maxLabel = data.maxLabel();
            for (int k = 0; k < index.length; k++)
            {
                index[k] = session.outputIndex(outputs.get(k));
                if (index[k] < 0)
                {
                    throw new ModelException("exit " + k + " names output '" + outputs.get(k) + "', which the " +
                        "model does not have (its outputs: " + model.outputNames() + ")");
                }
                final long[] out = session.outputDims(index[k]);
                if (out.length != 2 || out[0] != 1 || out[1] < 2)
                {
                    throw new ModelException("exit " + k + " '" + outputs.get(k) + "' has dims " +
                        Arrays.toString(out) + ", not a class vector [1, C]");
                }
                if (out[1] <= maxLabel)
                {
                    throw new ModelException("exit " + k + " '" + outputs.get(k) + "' scores " + out[1] +
                        " classes but the data has label " + maxLabel);
                }
                logits[k] = new float[(int)out[1]];
            }
            final long[] correct = new long[index.length];
            final float[] image = new float[data.rows() * data.cols()];
            for (int i = 0; i < data.count(); i++)
            {
                data.imageInto(i, input[0], input[1], input[2], image);
                session.setInput(0, image);
                session.run();
                for (int k = 0; k < index.length; k++)
                {
                    session.outputInto(index[k], logits[k]);
                    if (argmax(logits[k]) == data.label(i))
                    {
                        correct[k]++;
                    }
                }
            }
            final List<ExitTable.Exit> exits = new ArrayList<>();
            for (int k = 0; k < index.length; k++)
            {
                exits.add(ExitTable.Exit.measured(k, outputs.get(k), correct[k], data.count()));
            }
            return new ExitTable(weights, data.source() + ": the first " + data.count() + " of " + data.total() +
                " images", input, exits);
        }
    }

    /** @return the index of the largest value, the first of equal ones. */
    public static int argmax(final float[] scores)
    {
        int best = 0;
        for (int i = 1; i < scores.length; i++)
        {
            if (scores[i] > scores[best])
            {
                best = i;
            }
        }
        return best;
    }
}
