/** AWS entry point (placeholder being written): see lambdas/aws/config.ts for its environment. */
export const handler = async (): Promise<never> => {
  throw new Error('inference handler is not implemented yet');
};
